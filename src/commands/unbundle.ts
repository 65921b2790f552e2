// `mirror unbundle <bundle> <dest> [--check]`: verifies a bundle (an index file, or a directory
// of them) and restores it into dest; a bundle that fails verification changes nothing.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EXIT_FAILURES, EXIT_OK } from '../errors.js';
import { formatBytes } from '../engine/progress.js';
import { applyBundle, BundleError, bundleIndexes } from '../features/bundle/bundle.js';
import { makeLogger } from './common.js';
import { resolveFlags, type ParsedFlags } from './run-options.js';

export async function run([bundle, dest]: string[], parsed: ParsedFlags): Promise<number> {
  const flags = resolveFlags('unbundle', parsed);
  const log = makeLogger(flags);
  const check = flags.check === true;
  const indexes = await bundleIndexes(resolve(bundle));
  const root = resolve(dest);
  await mkdir(root, { recursive: true });
  for (const file of indexes) {
    try {
      const r = await applyBundle(file, { dest: root, checkOnly: check, progress: flags.progress === true, log });
      process.stdout.write(`${check ? 'verified' : 'restored'} ${r.name}: ${r.files} files (${formatBytes(r.bytes)}), ${r.deleted} deletion(s)\n`);
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      process.stderr.write(`mirror: ${err.message}; nothing from this bundle was applied\n`);
      return EXIT_FAILURES;
    }
  }
  return EXIT_OK;
}
