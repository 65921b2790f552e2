// `mirror sync --config mirror.toml [JOB...]`: runs the file's jobs (all, or those named), one
// after another or `--parallel N` at once, each through runSync with its own manifest, and
// prints one line per job. Every job's options come from the same builder as the command
// line's (run-options.ts): a flag given on the command line wins over the file.
import { EXIT_INTERRUPTED, UsageError } from '../errors.js';
import { findSource } from '../sources/index.js';
import { formatBytes } from '../engine/progress.js';
import { loadConfig, selectJobs } from '../features/config/config.js';
import { runJobs, withMetrics } from '../features/sync-jobs/jobs.js';
import { interruptSignal, makeLogger } from './common.js';
import { configSchema } from './flags.js';
import { jobRunOptions, metricsOutput, resolveFlags, type ParsedFlags } from './run-options.js';

export async function syncFromConfig(file: string, names: string[], parsed: ParsedFlags): Promise<number> {
  if (parsed.state !== undefined) throw new UsageError('--state cannot be used with --config (set state per job in the file)');
  const config = await loadConfig(file, configSchema(findSource));
  const top = resolveFlags('sync', parsed, config.top);
  const log = makeLogger(top);
  const parallel = Number(top.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel takes a whole number of jobs, not '${String(top.parallel)}'`);
  const progress = top.progress === true && parallel === 1;
  const jobs = selectJobs(config, names);

  // Turn every job's settings into run options before anything runs: a bad value stops all.
  const runs = jobs.map((job) => {
    try {
      const flags = resolveFlags('sync', parsed, { ...config.top, ...job.settings });
      const { kind, upstream, dest, name } = job;
      return { kind, upstream, dest, sourceOptions: job.options, ...jobRunOptions(flags), log, progress, job: name, name };
    } catch (e) {
      throw new UsageError(`job '${job.name}': ${(e as Error).message}`);
    }
  });
  const signal = interruptSignal(log);
  const { results, exitCode } = await withMetrics(metricsOutput(top), log, signal, (metrics) => {
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
