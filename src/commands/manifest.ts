// `mirror manifest <dest> [--run ID|last]`: prints one run's audit records (JSON lines), or
// without --run one summary line per run recorded in the manifest.
import type { CAC } from 'cac';
import { EXIT_OK, UsageError } from '../errors.js';
import { runCommand, type GlobalFlags } from './common.js';

interface ManifestFlags extends GlobalFlags {
  run?: string | number;
}

export function register(cli: CAC): void {
  cli
    .command('manifest <dest>', "Print the audit manifest: one run's records (--run ID|last), or the list of runs")
    .option('--run <id>', 'Run id, or last')
    .action((dest: string, flags: ManifestFlags) =>
      runCommand(async () => {
        const { existsSync } = await import('node:fs');
        const { layoutFor } = await import('../engine/layout.js');
        const { readManifest, manifestFiles } = await import('../features/manifest/manifest.js');
        const { privateDir } = layoutFor(dest);
        if (manifestFiles(privateDir).length === 0) {
          throw new UsageError(existsSync(privateDir) ? `${dest} has no audit manifest yet` : `${dest} is not a mirror (no ${privateDir})`);
        }
        const out = (line: string) =>
          new Promise<void>((resolve) => (process.stdout.write(line + '\n') ? resolve() : process.stdout.once('drain', resolve)));
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
        let run: number;
        if (flags.run === 'last') {
          run = -1;
          for await (const r of readManifest(privateDir)) if (r.run > run) run = r.run;
        } else {
          run = Number(flags.run);
          if (!Number.isSafeInteger(run) || run < 1) throw new UsageError(`--run takes a run id or 'last', not '${flags.run}'`);
        }
        let found = 0;
        for await (const r of readManifest(privateDir)) {
          if (r.run !== run) continue;
          found++;
          await out(JSON.stringify(r));
        }
        if (found === 0) throw new UsageError(`run ${run} is not in the manifest of ${dest}`);
        return EXIT_OK;
      }),
    );
}
