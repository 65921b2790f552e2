// `mirror sync <kind> <upstream> <dest>` and `mirror plan <kind> <upstream> <dest>`.
import type { CAC } from 'cac';
import { EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK } from '../errors.js';
import { interruptSignal, makeLogger, parseConcurrency, parseRate, runCommand, type GlobalFlags } from './common.js';
import { registerSourceFlags, sourceOptionValues } from './source-flags.js';

interface SyncFlags extends GlobalFlags {
  maxDelete?: string | number;
  force?: boolean;
  json?: boolean;
  [flag: string]: unknown;
}

export function register(cli: CAC): void {
  const sync = cli
    .command('sync <kind> <upstream> <dest>', 'Mirror <upstream> into <dest> (kinds: see `mirror kinds`)')
    .option('--max-delete <limit>', 'Refuse to delete more than this many files (500) or share of the mirror (10%)', { default: '10%' })
    .option('--force', 'Delete beyond --max-delete')
    .action((kind: string, upstream: string, dest: string, flags: SyncFlags) =>
      runCommand(async () => {
        const log = await makeLogger(flags);
        const { requireSource, runSync } = await import('../engine/sync.js');
        const { parseMaxDelete } = await import('../engine/collect.js');
        const { formatBytes } = await import('../engine/progress.js');
        const source = requireSource(kind);
        const summary = await runSync({
          kind,
          upstream,
          dest,
          sourceOptions: sourceOptionValues(source, flags),
          statePath: flags.state,
          concurrency: parseConcurrency(flags.concurrency),
          maxDelete: parseMaxDelete(flags.maxDelete),
          force: flags.force === true,
          contact: flags.contact,
          rateLimit: parseRate(flags.rateLimit),
          log,
          progress: flags.progress !== false,
          signal: interruptSignal(log),
        });
        const c = summary.counts;
        const secs = ((summary.endedAt - summary.startedAt) / 1000).toFixed(1);
        process.stdout.write(
          `${summary.outcome}: downloaded ${c.downloaded} (${formatBytes(summary.bytesDownloaded)}), kept ${c.kept}, ` +
            `published ${c.published}, deleted ${c.deleted}, failed ${c.failed}, rejected ${c.rejected} in ${secs}s (run ${summary.runId})\n`,
        );
        if (summary.error) process.stdout.write(`error: ${summary.error}\n`);
        return summary.exitCode;
      }),
    );
  registerSourceFlags(sync);

  const plan = cli
    .command('plan <kind> <upstream> <dest>', 'Dry run: what sync would download, delete and keep (writes nothing)')
    .option('--json', 'Print the plan as JSON')
    .action((kind: string, upstream: string, dest: string, flags: SyncFlags) =>
      runCommand(async () => {
        const log = await makeLogger(flags);
        const { requireSource } = await import('../engine/sync.js');
        const { planOnly } = await import('../engine/dry-run.js');
        const { formatBytes } = await import('../engine/progress.js');
        const source = requireSource(kind);
        const signal = interruptSignal(log);
        const result = await planOnly({
          kind,
          upstream,
          dest,
          sourceOptions: sourceOptionValues(source, flags),
          statePath: flags.state,
          concurrency: parseConcurrency(flags.concurrency),
          contact: flags.contact,
          log,
          signal,
        });
        if (signal.aborted) return EXIT_INTERRUPTED;
        const { plan: p } = result;
        if (flags.json) {
          process.stdout.write(JSON.stringify({ ...p, problems: result.problems, rejected: result.rejected }, null, 2) + '\n');
        } else {
          const row = (label: string, s: { files: number; bytes: number }) =>
            `  ${label.padEnd(9)} ${String(s.files).padStart(9)} files  ${formatBytes(s.bytes).padStart(10)}\n`;
          process.stdout.write(
            `plan (${p.mode}) for ${upstream} -> ${dest}\n` +
              row('download', p.download) +
              (p.download.unknownSize ? `            (${p.download.unknownSize} of unknown size)\n` : '') +
              row('keep', p.keep) +
              row('delete', p.delete) +
              row('publish', p.publish) +
              (result.problems.length ? `  problems: ${result.problems.length} (see log)\n` : ''),
          );
        }
        return result.problems.length > 0 ? EXIT_FAILURES : EXIT_OK;
      }),
    );
  registerSourceFlags(plan);

  cli.command('kinds', 'List the source kinds and their flags').action(() =>
    runCommand(async () => {
      const { sources } = await import('../sources/index.js');
      for (const s of sources) {
        process.stdout.write(`${s.kind.padEnd(8)} ${s.summary}\n`);
        for (const o of s.options) process.stdout.write(`         --${o.flag}${o.type === 'boolean' ? '' : ' <value>'}  ${o.description}\n`);
      }
      return EXIT_OK;
    }),
  );
}
