// `mirror sync --config mirror.toml [JOB...]`: runs the file's jobs (all, or those named), one
// after another or `--parallel N` at once, each through runSync with its own manifest, and
// prints one line per job. A flag given explicitly on the command line wins over the file.
import { EXIT_INTERRUPTED, UsageError } from '../errors.js';
import { interruptSignal, makeLogger, networkFlags } from './common.js';
import { metricsOutput, parseManifestMaxSize, type SyncFlags } from './sync.js';

/** The CLI value when it was given (differs from the flag's default), else the file's, else the default. */
function pick<T>(cli: T | undefined, cliDefault: T | undefined, fromFile: unknown): T | undefined {
  if (cli !== undefined && cli !== cliDefault) return cli;
  return fromFile !== undefined ? (fromFile as T) : cli;
}

export async function syncFromConfig(file: string, names: string[], flags: SyncFlags): Promise<number> {
  const { loadConfig, selectJobs } = await import('../features/config/config.js');
  const { findSource } = await import('../sources/index.js');
  const { parseMaxDelete } = await import('../engine/collect.js');
  const { formatBytes } = await import('../engine/progress.js');
  const { runJobs, withMetrics } = await import('../features/sync-jobs/jobs.js');
  const config = await loadConfig(file, findSource);
  const top = config.top;
  const log = await makeLogger({ logFormat: pick(flags.logFormat, 'text', top['log-format']), logLevel: pick(flags.logLevel, 'info', top['log-level']) });
  if (flags.state !== undefined) throw new UsageError('--state cannot be used with --config (set state per job in the file)');
  const parallel = Number(flags.parallel ?? top.parallel ?? 1);
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel takes a whole number of jobs, not '${String(flags.parallel ?? top.parallel)}'`);
  const progress = pick(flags.progress, true, top.progress) !== false && parallel === 1;
  const jobs = selectJobs(config, names);

  // Turn every job's settings into run options before anything runs: a bad value stops all.
  const runs = jobs.map((job) => {
    const s = job.settings;
    const at = (e: unknown) => new UsageError(`job '${job.name}': ${(e as Error).message}`);
    try {
      return {
        kind: job.kind,
        upstream: job.upstream,
        dest: job.dest,
        sourceOptions: job.options,
        statePath: s.state as string | undefined,
        ...networkFlags({
          concurrency: pick(flags.concurrency, 'auto', s.concurrency),
          contact: pick(flags.contact, undefined, s.contact),
          rateLimit: pick(flags.rateLimit, undefined, s['rate-limit']),
          http1: flags.http1 === true || s.http1 === true,
          redirectHosts: pick(flags.redirectHosts, undefined, s['redirect-hosts']),
        }),
        maxDelete: parseMaxDelete(pick(flags.maxDelete, '10%', s['max-delete'])),
        force: flags.force === true || s.force === true,
        log,
        progress,
        job: job.name,
        name: job.name,
        manifestMaxSize: parseManifestMaxSize(pick(flags.manifestMaxSize, '256M', s['manifest-max-size'])),
      };
    } catch (e) {
      throw at(e);
    }
  });
  const out = metricsOutput({ listen: flags.listen ?? top.listen, linger: flags.linger ?? top.linger, metricsFile: flags.metricsFile ?? top['metrics-file'] });
  const signal = interruptSignal(log);
  const { results, exitCode } = await withMetrics(out, log, signal, (metrics) => {
    for (const r of runs) metrics?.addJob(r.job);
    return runJobs(
      runs.map((r) => ({ ...r, signal, metrics })),
      parallel,
      log,
      signal,
    );
  });
  for (const r of results) {
    const s = r.summary;
    const line = s
      ? `${s.outcome}: downloaded ${s.counts.downloaded} (${formatBytes(s.bytesDownloaded)}), kept ${s.counts.kept}, published ${s.counts.published}, ` +
        `deleted ${s.counts.deleted}, failed ${s.counts.failed} (run ${s.runId})`
      : r.exitCode === EXIT_INTERRUPTED
        ? 'interrupted'
        : 'failed';
    process.stdout.write(`${r.job.padEnd(16)} ${line}${r.error ? ` — ${r.error}` : ''}\n`);
  }
  return exitCode;
}
