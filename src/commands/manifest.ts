// `mirror manifest <dest> [--run ID|last]`: prints one run's audit records (JSON lines), or
// without --run one summary line per run recorded in the manifest.
import { existsSync } from 'node:fs';
import { EXIT_OK, UsageError } from '../errors.js';
import { layoutFor } from '../engine/layout.js';
import { manifestFiles, readManifest } from '../features/manifest/manifest.js';
import { resolveFlags, type ParsedFlags } from './run-options.js';

export async function run([dest]: string[], parsed: ParsedFlags): Promise<number> {
  const flags = resolveFlags('manifest', parsed);
  const { privateDir } = layoutFor(dest);
  if (manifestFiles(privateDir).length === 0) {
    throw new UsageError(existsSync(privateDir) ? `${dest} has no audit manifest yet` : `${dest} is not a mirror (no ${privateDir})`);
  }
  const out = (line: string) => new Promise<void>((resolve) => (process.stdout.write(line + '\n') ? resolve() : process.stdout.once('drain', resolve)));
  if (flags.run === undefined) {
    for await (const r of readManifest(privateDir)) {
      if (r.type !== 'run') continue;
      const c = r.counts;
      await out(
        `run ${r.run}  ${r.outcome.padEnd(11)} ${r.started} → ${r.finished}  ${r.source} ${r.upstream}  ` +
          `downloaded ${c.downloaded}, kept ${c.kept}, published ${c.published}, deleted ${c.deleted}, failed ${c.failed}`,
      );
    }
    return EXIT_OK;
  }
  let runId: number;
  if (flags.run === 'last') {
    runId = -1;
    for await (const r of readManifest(privateDir)) if (r.run > runId) runId = r.run;
  } else {
    runId = Number(flags.run);
    if (!Number.isSafeInteger(runId) || runId < 1) throw new UsageError(`--run takes a run id or 'last', not '${String(flags.run)}'`);
  }
  let found = 0;
  for await (const r of readManifest(privateDir)) {
    if (r.run !== runId) continue;
    found++;
    await out(JSON.stringify(r));
  }
  if (found === 0) throw new UsageError(`run ${runId} is not in the manifest of ${dest}`);
  return EXIT_OK;
}
