// `mirror gc <dest> [--dry-run] [--force] [--max-delete N|P%]`: deletes the files an earlier
// sync left stale (it refused to under --max-delete), under the same guard unless --force.
import { EXIT_FAILURES, EXIT_OK } from '../errors.js';
import { collectStale } from '../engine/gc.js';
import { parseMaxDelete } from '../engine/collect.js';
import { formatBytes } from '../engine/progress.js';
import { makeLogger } from './common.js';
import { withMirror } from './open-mirror.js';
import { resolveFlags, type ParsedFlags } from './run-options.js';

export async function run([dest]: string[], parsed: ParsedFlags): Promise<number> {
  const flags = resolveFlags('gc', parsed);
  const log = makeLogger(flags);
  const dryRun = flags['dry-run'] === true;
  const maxDelete = parseMaxDelete(flags['max-delete'] as string | number);
  return withMirror(dest, flags.state as string | undefined, { command: 'gc' }, async (session) => {
    const result = await collectStale({
      session,
      dryRun,
      force: flags.force === true,
      maxDelete,
      log,
      onStale: (path) => process.stdout.write(`would delete ${path}\n`),
    });
    if (dryRun) {
      process.stdout.write(`${result.staleFiles} stale file(s), ${formatBytes(result.staleBytes)}\n`);
      return EXIT_OK;
    }
    process.stdout.write(`deleted ${result.deleted} file(s), ${formatBytes(result.bytes)}\n`);
    if (result.refused) process.stdout.write(`${result.refused}\n`);
    if (result.failed) process.stdout.write(`${result.failed} file(s) could not be deleted (see log)\n`);
    return result.refused || result.failed ? EXIT_FAILURES : EXIT_OK;
  });
}
