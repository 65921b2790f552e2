// `mirror sync <kind> <upstream> <dest>`, and `mirror sync --config mirror.toml [JOB...]`
// (sync-config.ts). Prints the run's summary line; the exit code is the run's.
import { basename, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { requireSource } from '../engine/sync.js';
import { formatBytes } from '../engine/progress.js';
import { runObservedSync, withMetrics } from '../features/sync-jobs/jobs.js';
import { interruptSignal, keepBaselineWasm, makeLogger } from './common.js';
import { jobRunOptions, metricsOutput, resolveFlags, type ParsedFlags } from './run-options.js';
import { sourceOptionValues } from './source-flags.js';
import { syncFromConfig } from './sync-config.js';

export async function run(args: string[], parsed: ParsedFlags): Promise<number> {
  keepBaselineWasm();
  if (parsed.config !== undefined) return syncFromConfig(String(parsed.config), args, parsed);
  if (args.length !== 3) throw new UsageError('usage: mirror sync <kind> <upstream> <dest> (or mirror sync --config mirror.toml [JOB...])');
  const [kind, upstream, dest] = args;
  const flags = resolveFlags('sync', parsed);
  const log = makeLogger(flags);
  const source = requireSource(kind);
  const options = { kind, upstream, dest, sourceOptions: sourceOptionValues(source, parsed), ...jobRunOptions(flags) };
  const signal = interruptSignal(log);
  const job = basename(resolve(dest));
  const summary = await withMetrics(metricsOutput(flags), log, signal, (metrics) =>
    runObservedSync({ ...options, log, progress: flags.progress === true, signal, job, metrics }),
  );
  const c = summary.counts;
  const secs = ((summary.endedAt - summary.startedAt) / 1000).toFixed(1);
  process.stdout.write(
    `${summary.outcome}: downloaded ${c.downloaded} (${formatBytes(summary.bytesDownloaded)}), kept ${c.kept}, ` +
      `published ${c.published}, deleted ${c.deleted}, failed ${c.failed}, rejected ${c.rejected} in ${secs}s (run ${summary.runId})\n`,
  );
  if (summary.error) process.stdout.write(`error: ${summary.error}\n`);
  return summary.exitCode;
}
