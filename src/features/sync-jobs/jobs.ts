// Running sync jobs with their observers: every run gets the audit manifest and, when asked,
// Prometheus metrics (`--listen`, `--metrics-file`). `runJobs` runs many jobs (from
// mirror.toml) with at most `parallel` at once and folds their exit codes into one:
// 130 if interrupted, else 2 if a job had bad input, else 1 if any failed, else 0.
import type { Logger } from 'pino';
import pLimit from 'p-limit';
import { runSync, type SyncOptions } from '../../engine/sync.js';
import { RunEvents, type RunSummary } from '../../engine/events.js';
import { layoutFor } from '../../engine/layout.js';
import { EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError } from '../../errors.js';
import { attachManifest } from '../manifest/manifest.js';
import type { SyncMetrics } from '../metrics/metrics.js';
import { parseListen } from '../listen.js';
import { redactCredentials } from '../../util/redact.js';

export interface ObservedSyncOptions extends SyncOptions {
  /** Job name: the metrics label and status.json's name. */
  job: string;
  manifestMaxSize?: number;
  metrics?: SyncMetrics;
}

export async function runObservedSync(opts: ObservedSyncOptions): Promise<RunSummary> {
  const events = opts.events ?? new RunEvents();
  const layout = layoutFor(opts.dest, opts.statePath);
  const manifest = attachManifest(events, { privateDir: layout.privateDir, maxSize: opts.manifestMaxSize });
  const { metrics, job } = opts;
  metrics?.attach(job, events);
  try {
    return await runSync({ ...opts, events, onDownloader: metrics ? (d) => metrics.watchDownloader(job, () => d.stats()) : undefined });
  } finally {
    manifest.close();
  }
}

export interface JobResult {
  job: string;
  exitCode: number;
  summary?: RunSummary;
  error?: string;
}

export async function runJobs(jobs: ObservedSyncOptions[], parallel: number, log: Logger, signal: AbortSignal): Promise<{ results: JobResult[]; exitCode: number }> {
  const limit = pLimit(Math.max(1, parallel));
  const results = await Promise.all(
    jobs.map((job) =>
      limit(async (): Promise<JobResult> => {
        if (signal.aborted) return { job: job.job, exitCode: EXIT_INTERRUPTED, error: 'not started: interrupted' };
        const jobLog = log.child({ job: job.job });
        try {
          const summary = await runObservedSync({ ...job, log: jobLog });
          return { job: job.job, exitCode: summary.exitCode, summary, error: summary.error };
        } catch (err) {
          jobLog.error((err as Error).message);
          return { job: job.job, exitCode: err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURES, error: redactCredentials((err as Error).message) };
        }
      }),
    ),
  );
  const codes = results.map((r) => r.exitCode);
  const exitCode = codes.includes(EXIT_INTERRUPTED)
    ? EXIT_INTERRUPTED
    : codes.includes(EXIT_USAGE)
      ? EXIT_USAGE
      : codes.some((c) => c !== EXIT_OK)
        ? EXIT_FAILURES
        : EXIT_OK;
  return { results, exitCode };
}

export interface MetricsOutput {
  listen?: string;
  /** Seconds to keep serving after the work, so a scraper sees the final values. */
  linger?: number;
  metricsFile?: string;
}

/**
 * Runs `body` with a SyncMetrics when metrics are wanted (undefined otherwise), serving them
 * meanwhile and writing the textfile at the end. Lingering stops early on `signal`.
 */
export async function withMetrics<T>(out: MetricsOutput, log: Logger, signal: AbortSignal, body: (metrics?: SyncMetrics) => Promise<T>): Promise<T> {
  if (!out.listen && !out.metricsFile) return body(undefined);
  // prom-client is loaded only by the runs that publish metrics.
  const { SyncMetrics, serveMetrics } = await import('../metrics/metrics.js');
  const metrics = new SyncMetrics();
  let server;
  if (out.listen) {
    const { host, port } = parseListen(out.listen);
    server = await serveMetrics(metrics, host, port).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`);
    });
    log.info(`metrics at ${server.url}/metrics, status at ${server.url}/status`);
  }
  try {
    const result = await body(metrics);
    if (out.metricsFile) await metrics.writeFile(out.metricsFile);
    if (server && out.linger && out.linger > 0 && !signal.aborted) {
      log.info(`serving metrics for ${out.linger}s more`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, out.linger! * 1000);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return result;
  } finally {
    await server?.close();
  }
}
