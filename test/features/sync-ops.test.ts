// The operations around sync, through the real CLI against a 127.0.0.1 upstream: a mirror.toml
// with two jobs (one failing), status files and the status table, the audit manifest, the
// Prometheus endpoint, and an incremental bundle that carries only the delta.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { serveDir, type StaticServer } from '../helpers/static-server.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { readTree, expectSameTree } from '../helpers/tree.js';

const env = { MIRROR_RETRY_BASE_MS: '5' };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition, failing on any line that is not a comment or a sample. */
function parseProm(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('sync --config, status, manifest, metrics, incremental bundle', () => {
  let work: string;
  let upstream: StaticServer;
  let host: string;
  const config = () => join(work, 'mirror.toml');

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'mirror-ops-'));
    mkdirSync(join(work, 'up/files'), { recursive: true });
    for (const n of ['a', 'b', 'c', 'd']) writeFileSync(join(work, 'up/files', `${n}.bin`), `${n}`.repeat(1000 + n.charCodeAt(0)));
    upstream = await serveDir(join(work, 'up'));
    host = `127.0.0.1:${upstream.port}`;
    writeFileSync(join(work, 'good.txt'), ['a', 'b', 'c'].map((n) => `${upstream.url}/files/${n}.bin`).join('\n') + '\n');
    writeFileSync(join(work, 'bad.txt'), `${upstream.url}/files/a.bin\n${upstream.url}/files/missing.bin\n`);
    writeFileSync(
      config(),
      `# two jobs, one failing\n[defaults]\nconcurrency = 4\n\n` +
        `[[job]]\nname = "good"\nkind = "list"\nupstream = "good.txt"\ndest = "good"\n\n` +
        `[[job]]\nname = "bad"\nkind = "list"\nupstream = "bad.txt"\ndest = "bad"\nmax-delete = "50%"\n`,
    );
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs both jobs, exits 1, writes two status files and serves matching metrics', async () => {
    let child!: ChildProcess;
    let stderr = '';
    let metricsUrl!: (u: string) => void;
    const urlP = new Promise<string>((r) => (metricsUrl = r));
    const done: Promise<CliResult> = runCli(['sync', '--config', config(), '--listen', '127.0.0.1:0', '--linger', '60', '--log-format', 'json'], {
      env,
      cwd: work,
      onSpawn: (c) => {
        child = c;
        c.stderr!.on('data', (d) => {
          stderr += d;
          const m = /metrics at (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(stderr);
          if (m) metricsUrl(m[1]);
        });
      },
    });
    const base = await Promise.race([urlP, done.then((r) => Promise.reject(new Error(`exited early: ${r.stderr}`)))]);
    // Wait until both jobs have finished, while the endpoint lingers.
    let status: { jobs: { name: string; status: string; files: Record<string, number> }[] } = { jobs: [] };
    for (let i = 0; i < 200; i++) {
      status = (await (await fetch(`${base}/status`)).json()) as typeof status;
      if (status.jobs.length === 2 && status.jobs.every((j) => j.status === 'success' || j.status === 'failed')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Object.fromEntries(status.jobs.map((j) => [j.name, j.status]))).toEqual({ good: 'success', bad: 'failed' });
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseProm(await res.text());
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^good\s+success: downloaded 3/m);
    expect(r.stdout).toMatch(/^bad\s+failed: downloaded 1 .*failed 1/m);

    // Counts match the run: the manifest's records, the upstream's requests.
    expect(value(samples, 'mirror_files_total', { job: 'good', outcome: 'downloaded' })).toBe(3);
    expect(value(samples, 'mirror_files_total', { job: 'bad', outcome: 'downloaded' })).toBe(1);
    expect(value(samples, 'mirror_files_total', { job: 'bad', outcome: 'failed' })).toBe(1);
    expect(value(samples, 'mirror_requests_total', { job: 'good', outcome: 'ok', status: '200' })).toBe(3);
    expect(value(samples, 'mirror_requests_total', { job: 'bad', status: '404' })).toBeGreaterThanOrEqual(1);
    const goodBytes = ['a', 'b', 'c'].reduce((n, x) => n + 1000 + x.charCodeAt(0), 0);
    expect(value(samples, 'mirror_downloaded_bytes_total', { job: 'good' })).toBe(goodBytes);
    expect(value(samples, 'mirror_request_duration_seconds_count', { job: 'good' })).toBe(3);
    expect(value(samples, 'mirror_last_success_timestamp_seconds', { job: 'good' })).toBeGreaterThan(1.6e9);
    expect(value(samples, 'mirror_last_success_timestamp_seconds', { job: 'bad' })).toBeUndefined();
    expect(value(samples, 'mirror_syncing', { job: 'good' })).toBe(0);
    expect(value(samples, 'mirror_runs_total', { job: 'bad', outcome: 'failed' })).toBe(1);
    expect(value(samples, 'mirror_run_duration_seconds', { job: 'good' })).toBeGreaterThan(0);

    const goodStatus = JSON.parse(readFileSync(join(work, 'good/.mirror/status.json'), 'utf8'));
    const badStatus = JSON.parse(readFileSync(join(work, 'bad/.mirror/status.json'), 'utf8'));
    expect(goodStatus).toMatchObject({ name: 'good', status: 'success', size: { files: 3, bytes: goodBytes } });
    expect(goodStatus.last_update).not.toBeNull();
    expect(badStatus).toMatchObject({ name: 'bad', status: 'failed', last_update: null });
    expect(badStatus.error_msg).toMatch(/missing\.bin/);

    const table = await runCli(['status', '--config', config()], { cwd: work });
    expect(table.code).toBe(1);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^JOB\s+STATUS\s+LAST SUCCESS/);
    expect(rows[1]).toMatch(/^good\s+success\s+\d{4}-.*\s3\s/);
    expect(rows[2]).toMatch(/^bad\s+failed\s+never/);
  });

  it('appends one manifest record per file per run', async () => {
    const again = await runCli(['sync', '--config', config(), 'good'], { env, cwd: work });
    expect(again.code, again.stderr).toBe(0);
    const manifest = readFileSync(join(work, 'good/.mirror/manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const files = (run: number) => manifest.filter((r) => r.type === 'file' && r.run === run);
    expect(files(1).map((r) => [r.path, r.outcome]).sort()).toEqual(['a', 'b', 'c'].map((n) => [`${host}/files/${n}.bin`, 'downloaded']));
    expect(files(2).map((r) => [r.path, r.outcome]).sort()).toEqual(['a', 'b', 'c'].map((n) => [`${host}/files/${n}.bin`, 'kept']));
    for (const r of files(1)) {
      expect(r).toMatchObject({ v: 1, url: `http://${r.path}`, attempts: 1, error: null });
      expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(Date.parse(r.finished)).toBeGreaterThanOrEqual(Date.parse(r.started));
    }
    expect(manifest.filter((r) => r.type === 'run').map((r) => [r.run, r.outcome])).toEqual([
      [1, 'success'],
      [2, 'success'],
    ]);
    const bad = readFileSync(join(work, 'bad/.mirror/manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const failed = bad.find((r) => r.outcome === 'failed');
    expect(failed).toMatchObject({ path: `${host}/files/missing.bin`, type: 'file' });
    expect(failed.error).toBeTruthy();

    const one = await runCli(['manifest', join(work, 'good'), '--run', '2']);
    expect(one.code, one.stderr).toBe(0);
    const printed = one.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(printed.every((r) => r.run === 2)).toBe(true);
    expect(printed).toHaveLength(4);
    const list = await runCli(['manifest', join(work, 'good')]);
    expect(list.stdout.trim().split('\n')).toHaveLength(2);
    expect((await runCli(['manifest', join(work, 'good'), '--run', '99'])).code).toBe(2);
  });

  it('bundles incrementally: only the delta, and deletions, since a run', async () => {
    const dest = join(work, 'good');
    const full = await runCli(['bundle', dest, '--out', join(work, 'bundles'), '--name', 'b1']);
    expect(full.code, full.stderr).toBe(0);
    const index1 = JSON.parse(readFileSync(join(work, 'bundles/b1.bundle.json'), 'utf8'));
    expect(index1).toMatchObject({ run: 2, since: null, files: 3 });
    const copy = join(work, 'offline');
    expect((await runCli(['unbundle', join(work, 'bundles/b1.bundle.json'), copy])).code).toBe(0);

    // Upstream changes: c goes, d arrives.
    writeFileSync(join(work, 'good.txt'), ['a', 'b', 'd'].map((n) => `${upstream.url}/files/${n}.bin`).join('\n') + '\n');
    // A tiny rotation limit: run 3 starts a new manifest file, the old one is kept as manifest.1.jsonl.
    const sync3 = await runCli(['sync', '--config', config(), 'good', '--force', '--manifest-max-size', '1'], { env, cwd: work });
    expect(sync3.code, sync3.stderr).toBe(0);
    const rotated = readFileSync(join(dest, '.mirror/manifest.1.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(new Set(rotated.map((r) => r.run))).toEqual(new Set([1, 2]));
    const current = readFileSync(join(dest, '.mirror/manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(new Set(current.map((r) => r.run))).toEqual(new Set([3]));
    expect((await runCli(['manifest', dest, '--run', '1'])).stdout.trim().split('\n')).toHaveLength(4);
    const delta = await runCli(['bundle', dest, '--out', join(work, 'bundles'), '--name', 'b2', '--since', String(index1.run)]);
    expect(delta.code, delta.stderr).toBe(0);
    const index2 = JSON.parse(readFileSync(join(work, 'bundles/b2.bundle.json'), 'utf8'));
    expect(index2).toMatchObject({ run: 3, since: 2, files: 1, deleted: [`${host}/files/c.bin`] });
    const u = await runCli(['unbundle', join(work, 'bundles/b2.bundle.json'), copy]);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stdout).toMatch(/1 files .* 1 deletion/);
    expect(expectSameTree(readTree(dest), readTree(copy))).toEqual([]);
    expect(existsSync(join(copy, host, 'files/c.bin'))).toBe(false);
    expect((await runCli(['bundle', dest, '--out', join(work, 'bundles'), '--since', '42'])).code).toBe(2);
  });
});
