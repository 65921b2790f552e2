// Prometheus metrics and a JSON status for sync runs, fed by RunEvents (prom-client, one
// registry per process, every series labelled with the job name).
//
// Served by `--listen HOST:PORT` at /metrics (Prometheus text) and /status (JSON); written by
// `--metrics-file PATH` for node_exporter's textfile collector when the process ends. Binds to
// loopback unless another host is given. In-flight requests and current concurrency are read
// from the job's downloader at scrape time.
import { createServer } from 'node:http';
import { renameSync, writeFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunEvents, RunSummary } from '../../engine/events.js';
import type { DownloaderStats } from '../../http/downloader.js';
import { listenOn, type RunningServer } from '../listen.js';

export interface JobStatus {
  name: string;
  status: 'idle' | 'syncing' | RunSummary['outcome'];
  run: number | null;
  started: string | null;
  ended: string | null;
  files: Record<string, number>;
  bytes: number;
  error: string | null;
  last_success: string | null;
}

export class SyncMetrics {
  readonly registry = new Registry();
  private readonly jobs = new Map<string, { status: JobStatus; stats?: () => DownloaderStats }>();

  private readonly requests = new Counter({
    name: 'mirror_requests_total',
    help: 'HTTP requests to upstream, by outcome (ok, retry, error) and HTTP status (none: no response)',
    labelNames: ['job', 'outcome', 'status'] as const,
    registers: [this.registry],
  });
  private readonly bytes = new Counter({
    name: 'mirror_downloaded_bytes_total',
    help: 'Response body bytes received from upstream',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'mirror_request_duration_seconds',
    help: 'Duration of upstream requests',
    labelNames: ['job'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: 'mirror_retries_total',
    help: 'Upstream requests that were retried',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly files = new Counter({
    name: 'mirror_files_total',
    help: 'Files handled, by outcome (downloaded, published, deleted, failed, kept, skipped)',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly runs = new Counter({
    name: 'mirror_runs_total',
    help: 'Finished runs, by outcome',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly runDuration = new Gauge({
    name: 'mirror_run_duration_seconds',
    help: 'Duration of the last finished run',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({
    name: 'mirror_last_success_timestamp_seconds',
    help: 'When the last successful run ended (Unix time)',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly syncing = new Gauge({
    name: 'mirror_syncing',
    help: '1 while a run of the job is in progress',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });

  constructor() {
    const jobs = this.jobs;
    new Gauge({
      name: 'mirror_requests_in_flight',
      help: 'Upstream requests in flight',
      labelNames: ['job'] as const,
      registers: [this.registry],
      collect() {
        for (const [name, j] of jobs) if (j.stats) this.set({ job: name }, j.stats().inFlight);
      },
    });
    new Gauge({
      name: 'mirror_concurrency',
      help: 'Current download concurrency (adaptive)',
      labelNames: ['job'] as const,
      registers: [this.registry],
      collect() {
        for (const [name, j] of jobs) if (j.stats) this.set({ job: name }, j.stats().concurrency);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Declares a job (so its series exist before it runs) and returns its status record. */
  addJob(name: string): void {
    if (this.jobs.has(name)) return;
    this.jobs.set(name, {
      status: { name, status: 'idle', run: null, started: null, ended: null, files: {}, bytes: 0, error: null, last_success: null },
    });
    this.syncing.set({ job: name }, 0);
  }

  /** Counts one run of `job` from its events. */
  attach(job: string, events: RunEvents): void {
    this.addJob(job);
    const entry = this.jobs.get(job)!;
    const st = entry.status;
    events.on('run-start', (e) => {
      Object.assign(st, { status: 'syncing', run: e.runId, started: new Date(e.startedAt).toISOString(), ended: null, files: {}, bytes: 0, error: null });
      this.syncing.set({ job }, 1);
    });
    events.on('request', (e) => {
      this.requests.inc({ job, outcome: e.outcome, status: e.status === undefined ? 'none' : String(e.status) });
      this.bytes.inc({ job }, e.bytes);
      this.duration.observe({ job }, e.durationMs / 1000);
      if (e.outcome === 'retry') this.retries.inc({ job });
      st.bytes += e.bytes;
    });
    events.on('file', (e) => {
      this.files.inc({ job, outcome: e.outcome });
      st.files[e.outcome] = (st.files[e.outcome] ?? 0) + 1;
    });
    events.on('run-end', (s) => {
      // Kept files produce no per-file events; count them from the summary.
      if (s.counts.kept > 0) this.files.inc({ job, outcome: 'kept' }, s.counts.kept);
      st.files.kept = s.counts.kept;
      this.runs.inc({ job, outcome: s.outcome });
      this.runDuration.set({ job }, (s.endedAt - s.startedAt) / 1000);
      this.syncing.set({ job }, 0);
      if (s.outcome === 'success') {
        this.lastSuccess.set({ job }, Math.floor(s.endedAt / 1000));
        st.last_success = new Date(s.endedAt).toISOString();
      }
      Object.assign(st, { status: s.outcome, ended: new Date(s.endedAt).toISOString(), error: s.error ?? null });
      entry.stats = undefined;
    });
  }

  /** Lets scrapes read the live downloader of `job` (in flight, concurrency). */
  watchDownloader(job: string, stats: () => DownloaderStats): void {
    this.addJob(job);
    this.jobs.get(job)!.stats = stats;
  }

  status(): { jobs: JobStatus[] } {
    return { jobs: [...this.jobs.values()].map((j) => ({ ...j.status, files: { ...j.status.files } })) };
  }

  /** Writes the metrics for node_exporter's textfile collector (atomically). */
  async writeFile(path: string): Promise<void> {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, await this.registry.metrics());
    renameSync(tmp, path);
  }
}

export async function serveMetrics(metrics: SyncMetrics, host: string, port: number): Promise<RunningServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else if (path === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metrics.status(), null, 2) + '\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics or /status\n');
    }
  });
  return listenOn(server, host, port);
}
