// `mirror sync <kind> <upstream> <dest>` and `mirror plan <kind> <upstream> <dest>`.
import type { CAC } from 'cac';
import { EXIT_FAILURES, EXIT_OK, UsageError } from '../errors.js';
import { interruptSignal, keepBaselineWasm, makeLogger, networkFlags, runCommand, type GlobalFlags } from './common.js';
import { registerSourceFlags, sourceOptionValues } from './source-flags.js';
import type { Source } from '../sources/types.js';
import { parseSize } from './units.js';
import { redactCredentials } from '../util/redact.js';

export interface SyncFlags extends GlobalFlags {
  maxDelete?: string | number;
  force?: boolean;
  json?: boolean;
  config?: string;
  parallel?: string | number;
  listen?: string;
  linger?: string | number;
  metricsFile?: string;
  manifestMaxSize?: string | number;
  [flag: string]: unknown;
}

/** What `sync` and `plan` take alike from the command line for one job. */
function jobFlags(source: Source, upstream: string, dest: string, flags: SyncFlags) {
  return {
    kind: source.kind,
    upstream,
    dest,
    sourceOptions: sourceOptionValues(source, flags),
    statePath: flags.state,
    ...networkFlags(flags),
  };
}

export function register(cli: CAC): void {
  const sync = cli
    .command('sync [...args]', 'Mirror: sync <kind> <upstream> <dest>, or sync --config mirror.toml [JOB...]')
    .option('--max-delete <limit>', 'Refuse to delete more than this many files (500) or share of the mirror (10%)', { default: '10%' })
    .option('--force', 'Delete beyond --max-delete')
    .option('--config <file>', 'Run the jobs of a mirror.toml (all, or the JOB names given)')
    .option('--parallel <n>', 'With --config: jobs run at once (default 1)')
    .option('--listen <addr>', 'Serve Prometheus /metrics and /status on HOST:PORT (loopback unless a host is given)')
    .option('--linger <seconds>', 'Keep serving metrics this long after the work ends')
    .option('--metrics-file <path>', 'Write the final metrics for the node_exporter textfile collector')
    .option('--manifest-max-size <size>', 'Rotate .mirror/manifest.jsonl at a run start once it is this big', { default: '256M' })
    .action((args: string[], flags: SyncFlags) =>
      runCommand(async () => {
        await keepBaselineWasm();
        if (flags.config !== undefined) {
          const { syncFromConfig } = await import('./sync-config.js');
          return syncFromConfig(String(flags.config), args, flags);
        }
        if (args.length !== 3) throw new UsageError('usage: mirror sync <kind> <upstream> <dest> (or mirror sync --config mirror.toml [JOB...])');
        const [kind, upstream, dest] = args;
        // Loaded together: each module's files are read while the others compile.
        const [log, { requireSource }, { parseMaxDelete }, { formatBytes }, { runObservedSync, withMetrics }, { basename, resolve }] = await Promise.all([
          makeLogger(flags),
          import('../engine/sync.js'),
          import('../engine/collect.js'),
          import('../engine/progress.js'),
          import('../features/sync-jobs/jobs.js'),
          import('node:path'),
        ]);
        const signal = interruptSignal(log);
        const job = basename(resolve(dest));
        const summary = await withMetrics(metricsOutput(flags), log, signal, (metrics) =>
          runObservedSync({
            ...jobFlags(requireSource(kind), upstream, dest, flags),
            log,
            maxDelete: parseMaxDelete(flags.maxDelete),
            force: flags.force === true,
            progress: flags.progress !== false,
            signal,
            job,
            manifestMaxSize: parseManifestMaxSize(flags.manifestMaxSize),
            metrics,
          }),
        );
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
        await keepBaselineWasm();
        const log = await makeLogger(flags);
        const { requireSource } = await import('../engine/sync.js');
        const { planOnly } = await import('../engine/dry-run.js');
        const { formatBytes } = await import('../engine/progress.js');
        const signal = interruptSignal(log);
        const result = await planOnly({ ...jobFlags(requireSource(kind), upstream, dest, flags), log, signal });
        const { plan: p } = result;
        if (flags.json) {
          process.stdout.write(JSON.stringify({ ...p, problems: result.problems, rejected: result.rejected }, null, 2) + '\n');
        } else {
          const row = (label: string, s: { files: number; bytes: number }) =>
            `  ${label.padEnd(9)} ${String(s.files).padStart(9)} files  ${formatBytes(s.bytes).padStart(10)}\n`;
          process.stdout.write(
            `plan (${p.mode}) for ${redactCredentials(upstream)} -> ${dest}\n` +
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

export function metricsOutput(flags: { listen?: unknown; linger?: unknown; metricsFile?: unknown }) {
  const linger = flags.linger === undefined ? undefined : Number(flags.linger);
  if (linger !== undefined && !(Number.isFinite(linger) && linger >= 0)) throw new UsageError(`--linger takes seconds, not '${String(flags.linger)}'`);
  if (linger && !flags.listen) throw new UsageError('--linger needs --listen');
  return {
    listen: flags.listen === undefined ? undefined : String(flags.listen),
    linger,
    metricsFile: flags.metricsFile === undefined ? undefined : String(flags.metricsFile),
  };
}

export function parseManifestMaxSize(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(String(value)) ? Number(value) : parseSize(String(value));
  if (!n || n < 1) throw new UsageError(`--manifest-max-size takes a size like 256M, not '${String(value)}'`);
  return n;
}
