// The Downloader against the fault-injecting server: for every fault, each file ends either
// correct at its final path or reported failed, nothing corrupt is visible, and the request log
// shows the expected retries with backoff (bounded attempts, real waits), not a hot loop.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, promises as fs, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createServer as createHttpServer } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { Downloader, DownloadError, type DownloaderOptions, type RequestEvent } from '../src/http/downloader.js';
import { makeSelfSignedCert, seededBytes, sha256, startFaultServer, type Fault, type FaultServer } from './helpers/fault-server.js';

const SEED = 1234;
const fast: Partial<DownloaderOptions> = {
  retryBaseMs: 20,
  retryCapMs: 200,
  headersTimeoutMs: 600,
  bodyTimeoutMs: 600,
  connectTimeoutMs: 2000,
  random: () => 0.5,
  resumeMinBytes: 64 * 1024,
};

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mirror-dl-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const servers: FaultServer[] = [];
const downloaders: Downloader[] = [];
afterEach(async () => {
  await Promise.all(downloaders.splice(0).map((d) => d.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(opts: Parameters<typeof startFaultServer>[0]) {
  const s = await startFaultServer(opts);
  servers.push(s);
  return s;
}

function downloader(opts: Partial<DownloaderOptions> = {}) {
  const events: RequestEvent[] = [];
  const d = new Downloader({ concurrency: 'auto', ...fast, ...opts, onRequest: (e) => events.push(e) });
  downloaders.push(d);
  return { d, events };
}

/** Files named /f<i>.bin of the given sizes, with deterministic content. */
function corpus(sizes: number[], prefix = 'f'): Record<string, Buffer> {
  return Object.fromEntries(sizes.map((size, i) => [`/${prefix}${i}.bin`, seededBytes(SEED, `${prefix}${i}`, size)]));
}

interface Outcome {
  ok: string[];
  failed: Map<string, DownloadError>;
}

/**
 * What the engine does: download each file to a tmp path, rename into place on success, delete
 * the tmp file on failure. Then checks the invariant: every final file is byte-correct.
 */
async function mirrorAll(
  d: Downloader,
  base: string,
  files: Record<string, Buffer>,
  opts: { withSize?: boolean; withSha?: boolean; expect?: Record<string, Buffer> } = {},
): Promise<Outcome & { dir: string }> {
  const dir = mkdtempSync(join(root, 'run-'));
  await fs.mkdir(join(dir, 'tmp'));
  await fs.mkdir(join(dir, 'final'));
  const outcome: Outcome = { ok: [], failed: new Map() };
  await Promise.all(
    Object.entries(files).map(async ([path, body], i) => {
      const name = path.slice(1);
      const tmpFile = join(dir, 'tmp', `${i}.part`);
      const expected = opts.expect?.[path] ?? body;
      try {
        const res = await d.download({
          url: base + path,
          tmpFile,
          size: opts.withSize === false ? undefined : expected.length,
          checksums: opts.withSha === false ? {} : { sha256: sha256(expected) },
        });
        expect(res.status).toBe(200);
        expect(res.checksums.sha256).toBe(sha256(expected));
        await fs.rename(tmpFile, join(dir, 'final', name));
        outcome.ok.push(path);
      } catch (e) {
        if (!(e instanceof DownloadError)) throw e;
        await fs.rm(tmpFile, { force: true });
        await fs.rm(tmpFile + '.meta', { force: true });
        outcome.failed.set(path, e);
      }
    }),
  );
  for (const name of await fs.readdir(join(dir, 'final'))) {
    const want = opts.expect?.[`/${name}`] ?? files[`/${name}`];
    expect(sha256(readFileSync(join(dir, 'final', name))), `final ${name} is correct`).toBe(sha256(want));
  }
  expect((await fs.readdir(join(dir, 'final'))).length).toBe(outcome.ok.length);
  return { ...outcome, dir };
}

/** Gaps between successive requests for one path (ms). */
function gaps(s: FaultServer, path: string): number[] {
  const at = s.requestsFor(path).map((e) => e.at);
  return at.slice(1).map((t, i) => t - at[i]);
}

describe('Downloader: happy paths', () => {
  it('downloads many small files over HTTP/1.1 with the mirror User-Agent', async () => {
    const files = corpus(Array.from({ length: 60 }, (_, i) => 100 + i * 97));
    const s = await server({ files });
    const { d, events } = downloader({ userAgent: 'mirror/9.9.9 (+ops@example.org)' });
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(60);
    expect(s.log.every((e) => e.userAgent === 'mirror/9.9.9 (+ops@example.org)')).toBe(true);
    expect(s.log.length).toBe(60);
    expect(events.filter((e) => e.outcome === 'ok').length).toBe(60);
    const st = d.stats();
    expect(st).toMatchObject({ files: 60, retries: 0, inFlight: 0, failed: 0 });
    expect(st.bytes).toBe(Object.values(files).reduce((a, b) => a + b.length, 0));
    expect(st.bytesPerSec).toBeGreaterThan(0);
  });

  it('multiplexes HTTP/2 streams over TLS, with faults', async () => {
    const dir = mkdtempSync(join(root, 'tls-'));
    const tls = makeSelfSignedCert(dir);
    const files = corpus(Array.from({ length: 80 }, (_, i) => 1000 + i * 50));
    const s = await server({ files, tls, script: { '/f3.bin': [{ kind: 'reset' }], '/f7.bin': [{ kind: 'status', status: 503 }] } });
    const { d } = downloader({ ca: tls.cert, initialConcurrency: 32 });
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(80);
    expect(s.log.every((e) => e.httpVersion === '2.0')).toBe(true);
    expect(s.requestsFor('/f3.bin').length).toBe(2);
    // Streams share connections instead of one connection per request.
    expect(s.stats().connections).toBeLessThan(32);
    expect(s.stats().maxInFlight).toBeGreaterThan(1);
  });

  it('keeps a TLS origin on HTTP/1.1 when HTTP/2 is off', async () => {
    const tls = makeSelfSignedCert(mkdtempSync(join(root, 'tls1-')));
    const files = corpus(Array.from({ length: 20 }, (_, i) => 1000 + i * 50));
    const s = await server({ files, tls });
    const { d } = downloader({ ca: tls.cert, http2: false });
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(20);
    expect(s.log.every((e) => e.httpVersion === '1.1')).toBe(true);
  });

  it('answers a conditional request with 304', async () => {
    const files = corpus([500]);
    const s = await server({ files });
    const { d } = downloader();
    const first = await d.download({ url: `${s.url}/f0.bin`, tmpFile: join(root, 'cond.part') });
    expect(first.etag).toBeTruthy();
    const second = await d.download({ url: `${s.url}/f0.bin`, tmpFile: join(root, 'cond2.part'), etag: first.etag, size: 500 });
    expect(second).toMatchObject({ status: 304, size: 500, attempts: 1 });
    expect(existsSync(join(root, 'cond2.part'))).toBe(false);
  });

  it('pins concurrency with --concurrency N', async () => {
    const files = corpus(Array.from({ length: 30 }, () => 20_000));
    const script = Object.fromEntries(Object.keys(files).map((p) => [p, [{ kind: 'trickle', chunkBytes: 5000, intervalMs: 5 } as Fault]]));
    const s = await server({ files, script });
    const { d } = downloader({ concurrency: 3 });
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(30);
    expect(s.stats().maxInFlight).toBe(3);
    expect(d.stats().concurrency).toBe(3);
  });
});

describe('Downloader: retries and backoff', () => {
  it('retries 500/503 with growing backoff', async () => {
    const files = corpus([2000]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'status', status: 502 }] } });
    const { d, events } = downloader();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok).toEqual(['/f0.bin']);
    expect(s.requestsFor('/f0.bin').map((e) => e.status)).toEqual([500, 503, 502, 200]);
    // random() = 0.5: delays 10, 20, 40 ms (base 20 doubling).
    expect(events.filter((e) => e.outcome === 'retry').map((e) => e.delayMs)).toEqual([10, 20, 40]);
    const g = gaps(s, '/f0.bin');
    expect(g[0]).toBeGreaterThanOrEqual(9);
    expect(g[1]).toBeGreaterThanOrEqual(19);
    expect(g[2]).toBeGreaterThanOrEqual(39);
  });

  it('gives up after the attempt budget, reporting the status', async () => {
    const files = corpus([100]);
    const s = await server({ files, script: { '/f0.bin': Array(10).fill({ kind: 'status', status: 500 }) } });
    const { d } = downloader({ maxAttempts: 4 });
    const out = await mirrorAll(d, s.url, files);
    expect(out.failed.get('/f0.bin')).toMatchObject({ code: 'http', status: 500, attempts: 4 });
    expect(s.requestsFor('/f0.bin').length).toBe(4);
  });

  it('honours Retry-After on 429 for the whole origin', async () => {
    const files = corpus([100, 100]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'status', status: 429, retryAfter: '1' }] } });
    const { d } = downloader({ concurrency: 1 });
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(2);
    expect(gaps(s, '/f0.bin')[0]).toBeGreaterThanOrEqual(990);
    // f1 was queued behind f0 on the same origin: it waited for the pause too.
    const f0first = s.requestsFor('/f0.bin')[0].at;
    expect(s.requestsFor('/f1.bin')[0].at - f0first).toBeGreaterThanOrEqual(990);
  });

  it('honours Retry-After as an HTTP-date', async () => {
    const files = corpus([100]);
    const when = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000).toUTCString();
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'status', status: 503, retryAfter: when }] } });
    const { d } = downloader();
    await mirrorAll(d, s.url, files);
    expect(s.requestsFor('/f0.bin').length).toBe(2);
    expect(gaps(s, '/f0.bin')[0]).toBeGreaterThanOrEqual(400);
  });

  it('never retries 404 or 410 and reports them as missing upstream', async () => {
    const files = corpus([100]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'status', status: 410 }] } });
    const { d } = downloader();
    const out = await mirrorAll(d, s.url, { ...files, '/absent.bin': Buffer.from('x') });
    expect(out.failed.get('/absent.bin')).toMatchObject({ code: 'not-found', status: 404, attempts: 1 });
    expect(out.failed.get('/f0.bin')).toMatchObject({ code: 'not-found', status: 410, attempts: 1 });
    expect(out.failed.get('/f0.bin')!.message).toMatch(/missing upstream/);
    expect(s.log.length).toBe(2);
  });

  it('stops at the run-wide retry budget', async () => {
    const files = corpus(Array.from({ length: 10 }, () => 100));
    const script = Object.fromEntries(Object.keys(files).map((p) => [p, Array(10).fill({ kind: 'status', status: 503 })]));
    const s = await server({ files, script });
    const { d } = downloader({ retryBudget: { base: 5, perFile: 0 }, concurrency: 2 });
    const out = await mirrorAll(d, s.url, files);
    expect(out.failed.size).toBe(10);
    expect(s.log.length).toBe(10 + 5);
    expect(d.stats().retries).toBe(5);
  });
});

describe('Downloader: broken bodies', () => {
  const big = 300_000;

  it('recovers from a reset mid-body', async () => {
    const files = corpus([big]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'reset', afterBytes: 100_000 }] } });
    const { d } = downloader();
    expect((await mirrorAll(d, s.url, files)).ok.length).toBe(1);
    expect(s.requestsFor('/f0.bin').length).toBe(2);
  });

  it('resumes after a connection closed mid-body with Range + If-Range', async () => {
    const files = corpus([big]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'close', afterBytes: 100_000 }] } });
    const { d } = downloader();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(1);
    const reqs = s.requestsFor('/f0.bin');
    expect(reqs.length).toBe(2);
    expect(reqs[1].range).toBe('bytes=100000-');
    expect(reqs[1].ifRange).toMatch(/^"/);
    expect(reqs[1].status).toBe(206);
  });

  it('keeps resuming through repeated truncations, and restarts when a range comes back encoded', async () => {
    const files = corpus([big, big]);
    const s = await server({
      files,
      script: {
        '/f0.bin': [{ kind: 'truncate', afterBytes: 50_000 }, { kind: 'truncate', afterBytes: 50_000 }, { kind: 'truncate', afterBytes: 50_000 }],
        '/f1.bin': [{ kind: 'truncate', afterBytes: 50_000 }, { kind: 'gzip' }],
      },
    });
    const { d } = downloader();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(2);
    expect(s.requestsFor('/f0.bin').map((e) => e.range)).toEqual([undefined, 'bytes=50000-', 'bytes=100000-', 'bytes=150000-']);
    expect(s.requestsFor('/f1.bin').map((e) => e.range)).toEqual([undefined, 'bytes=50000-', undefined]);
  });

  it('restarts when the server ignores ranges', async () => {
    const files = corpus([big]);
    const s = await server({ files, ranges: false, script: { '/f0.bin': [{ kind: 'reset', afterBytes: 100_000 }] } });
    const { d } = downloader();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(1);
    expect(s.requestsFor('/f0.bin').map((e) => e.status)).toEqual([200, 200]);
  });

  it('continues a truncated body', async () => {
    const files = corpus([big]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'truncate', afterBytes: 120_000 }] } });
    const { d } = downloader();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(1);
    expect(s.requestsFor('/f0.bin')[1].range).toBe('bytes=120000-');
  });

  it('refetches the whole file after a flipped byte, and fails a file that is always corrupt', async () => {
    const files = corpus([5000, 5000]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'flip' }], '/f1.bin': Array(5).fill({ kind: 'flip' }) } });
    const { d } = downloader();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok).toEqual(['/f0.bin']);
    expect(s.requestsFor('/f0.bin')[1].range).toBeUndefined();
    expect(out.failed.get('/f1.bin')).toMatchObject({ code: 'checksum', attempts: 2 });
    expect(s.requestsFor('/f1.bin').length).toBe(2);
  });

  it('survives a slow trickle within the idle timeout', async () => {
    const files = corpus([4000]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'trickle', chunkBytes: 400, intervalMs: 40 }] } });
    const { d } = downloader();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(1);
    expect(s.log.length).toBe(1);
  });

  it('times out a stalled body and a stalled response, then retries', async () => {
    const files = corpus([big, 1000]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'stall', afterBytes: 50_000 }], '/f1.bin': [{ kind: 'stall-headers' }] } });
    const { d, events } = downloader();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.sort()).toEqual(['/f0.bin', '/f1.bin']);
    expect(s.requestsFor('/f0.bin')[1].range).toBe('bytes=50000-');
    const errors = events.filter((e) => e.outcome === 'retry').map((e) => e.error);
    expect(errors.some((e) => /BODY_TIMEOUT/.test(e!))).toBe(true);
    expect(errors.some((e) => /HEADERS_TIMEOUT/.test(e!))).toBe(true);
  });

  it('handles a server lying about Content-Length', async () => {
    const files = corpus([3000, 3000, 3000]);
    const s = await server({
      files,
      script: {
        '/f0.bin': [{ kind: 'lie-length', delta: 100 }],
        '/f1.bin': Array(5).fill({ kind: 'lie-length', delta: -10 }),
        '/f2.bin': Array(5).fill({ kind: 'lie-length', delta: 100 }),
      },
    });
    const { d } = downloader({ maxAttempts: 3 });
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok).toEqual(['/f0.bin']);
    expect(out.failed.get('/f1.bin')).toMatchObject({ code: 'size', attempts: 2 });
    expect(out.failed.get('/f2.bin')).toMatchObject({ code: 'size' });
    expect(s.requestsFor('/f2.bin').length).toBeLessThanOrEqual(3);
  });

  it('refuses a body larger than expected without writing past the limit', async () => {
    const files = corpus([200_000]);
    const s = await server({ files, script: { '/f0.bin': Array(5).fill({ kind: 'truncate', afterBytes: 200_000 }) } });
    const { d } = downloader();
    const tmpFile = join(root, 'big.part');
    const err = await d
      .download({ url: `${s.url}/f0.bin`, tmpFile, size: 10_000, checksums: { sha256: sha256(files['/f0.bin']) } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.code).toBe('size');
    expect((await fs.stat(tmpFile).catch(() => ({ size: 0 }))).size).toBeLessThanOrEqual(10_000);
    // The server's own Content-Length disagreeing with the index is refused before any body.
    const announced = await d.download({ url: `${s.url}/f0.bin`, tmpFile, size: 5 }).catch((e) => e);
    expect(announced).toMatchObject({ code: 'size' });
  });
});

describe('Downloader: content encoding', () => {
  it('stores the decoded bytes when the checksum describes them', async () => {
    const text = Buffer.from('hello mirror\n'.repeat(500));
    const files = { '/index.json': text };
    const s = await server({ files, script: { '/index.json': [{ kind: 'gzip' }] } });
    const { d } = downloader();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(1);
  });

  it('keeps a .gz file as is when the server labels it Content-Encoding: gzip', async () => {
    const gz = gzipSync(Buffer.from('package list\n'.repeat(300)));
    const files = { '/Packages.gz': gz };
    const s = await server({ files, script: { '/Packages.gz': [{ kind: 'label-gzip' }, { kind: 'label-gzip' }] } });
    const { d } = downloader();
    expect((await mirrorAll(d, s.url, files)).ok.length).toBe(1);
    // With no checksum or size to go by, a .gz path keeps the raw bytes too.
    expect((await mirrorAll(d, s.url, files, { withSize: false, withSha: false })).ok.length).toBe(1);
  });

  it('decodes dynamic compression when nothing is known about the file', async () => {
    const text = Buffer.from('{"a":1}\n'.repeat(100));
    const files = { '/config.json': text };
    const s = await server({ files, script: { '/config.json': [{ kind: 'gzip' }] } });
    const { d } = downloader();
    expect((await mirrorAll(d, s.url, files, { withSize: false, withSha: false })).ok.length).toBe(1);
  });
});

describe('Downloader: redirects', () => {
  it('follows a same-host redirect and refuses loops and file: targets', async () => {
    const files = corpus([1000]);
    const s = await server({
      files,
      script: {
        '/moved': [{ kind: 'redirect', to: '/f0.bin', status: 301 }],
        '/loop-a': Array(10).fill({ kind: 'redirect', to: '/loop-b' }),
        '/loop-b': Array(10).fill({ kind: 'redirect', to: '/loop-a' }),
        '/evil': [{ kind: 'redirect', to: 'file:///etc/passwd' }],
      },
    });
    const { d } = downloader();
    const tmp = (n: string) => join(root, `redir-${n}.part`);
    const moved = await d.download({ url: `${s.url}/moved`, tmpFile: tmp('m'), checksums: { sha256: sha256(files['/f0.bin']) } });
    expect(moved.finalUrl).toBe(`${s.url}/f0.bin`);
    expect(await d.download({ url: `${s.url}/loop-a`, tmpFile: tmp('l') }).catch((e) => e)).toMatchObject({ code: 'redirect', attempts: 1 });
    expect(await d.download({ url: `${s.url}/evil`, tmpFile: tmp('e') }).catch((e) => e)).toMatchObject({ code: 'redirect', attempts: 1 });
    expect(s.requestsFor('/loop-a').length + s.requestsFor('/loop-b').length).toBe(2);
    expect(s.requestsFor('/evil').length).toBe(1);
    expect(existsSync(tmp('e'))).toBe(false);
  });
});

describe('Downloader: resume across calls, abort, rate limit', () => {
  it('continues a partial tmp file left by an earlier call (sidecar validator)', async () => {
    const files = corpus([400_000]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'close', afterBytes: 150_000 }] } });
    const { d } = downloader({ maxAttempts: 1 });
    const tmpFile = join(root, 'resume.part');
    const req = { url: `${s.url}/f0.bin`, tmpFile, size: 400_000, checksums: { sha256: sha256(files['/f0.bin']) } };
    expect(await d.download(req).catch((e) => e)).toMatchObject({ code: 'network' });
    expect((await fs.stat(tmpFile)).size).toBeGreaterThan(0);
    expect(existsSync(tmpFile + '.meta')).toBe(true);
    const res = await d.download(req);
    expect(res.checksums.sha256).toBe(sha256(files['/f0.bin']));
    expect(s.requestsFor('/f0.bin')[1].status).toBe(206);
    expect(existsSync(tmpFile + '.meta')).toBe(false);
  });

  it('starts over when the upstream file changed since the partial download', async () => {
    const v1 = corpus([400_000]);
    const s1 = await server({ files: v1, script: { '/f0.bin': [{ kind: 'close', afterBytes: 150_000 }] } });
    const v2 = { '/f0.bin': seededBytes(SEED + 1, 'f0', 400_000) };
    const s2 = await server({ files: v2 });
    const { d } = downloader({ maxAttempts: 1 });
    const tmpFile = join(root, 'changed.part');
    await d.download({ url: `${s1.url}/f0.bin`, tmpFile, size: 400_000 }).catch(() => undefined);
    // Same URL needed for the sidecar to apply: rewrite it to point at the second server.
    const meta = JSON.parse(readFileSync(tmpFile + '.meta', 'utf8'));
    await fs.writeFile(tmpFile + '.meta', JSON.stringify({ ...meta, url: `${s2.url}/f0.bin` }));
    const res = await d.download({ url: `${s2.url}/f0.bin`, tmpFile, size: 400_000, checksums: { sha256: sha256(v2['/f0.bin']) } });
    expect(res.status).toBe(200);
    expect(s2.requestsFor('/f0.bin')[0]).toMatchObject({ range: 'bytes=150000-', status: 200 });
  });

  it('drops a sidecar for another URL: its partial can never continue', async () => {
    const s = await server({ files: corpus([500_000]) });
    const { d } = downloader({ maxAttempts: 1 });
    const tmpFile = join(root, 'other-url.part');
    await fs.writeFile(tmpFile, Buffer.alloc(100_000));
    await fs.writeFile(tmpFile + '.meta', JSON.stringify({ url: `${s.url}/elsewhere.bin`, etag: '"x"' }));
    expect(await d.download({ url: `${s.url}/missing.bin`, tmpFile, size: 500_000 }).catch((e) => e)).toMatchObject({ code: 'not-found' });
    expect(s.requestsFor('/missing.bin')[0].range).toBeUndefined();
    expect(existsSync(tmpFile + '.meta')).toBe(false);
  });

  it('starts over when the server answers 416 to a resume', async () => {
    const files = corpus([3000]);
    const s = await server({ files });
    const { d } = downloader();
    const tmpFile = join(root, 'range416.part');
    await fs.writeFile(tmpFile, Buffer.alloc(5000));
    const etag = `"${sha256(files['/f0.bin']).slice(0, 16)}"`;
    await fs.writeFile(tmpFile + '.meta', JSON.stringify({ url: `${s.url}/f0.bin`, etag }));
    const res = await d.download({ url: `${s.url}/f0.bin`, tmpFile, checksums: { sha256: sha256(files['/f0.bin']) } });
    expect(res.size).toBe(3000);
    expect(s.requestsFor('/f0.bin').map((e) => [e.range, e.status])).toEqual([['bytes=5000-', 416], [undefined, 200]]);
  });

  it('aborts promptly on its signal, leaving only the tmp file', async () => {
    const files = corpus([50_000]);
    const s = await server({ files, script: { '/f0.bin': [{ kind: 'trickle', chunkBytes: 1000, intervalMs: 50 }] } });
    const ac = new AbortController();
    const { d } = downloader({ signal: ac.signal });
    const tmpFile = join(root, 'abort.part');
    const started = Date.now();
    setTimeout(() => ac.abort(), 200);
    const err = await d.download({ url: `${s.url}/f0.bin`, tmpFile, size: 50_000 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'aborted' });
    expect(Date.now() - started).toBeLessThan(1500);
    // Queued and backing-off downloads abort too.
    const queued = await d.download({ url: `${s.url}/f0.bin`, tmpFile: join(root, 'abort2.part') }).catch((e) => e);
    expect(queued).toMatchObject({ code: 'aborted' });
    expect(d.stats().inFlight).toBe(0);
  });

  it('caps bandwidth with rateLimitBytesPerSec', async () => {
    const files = corpus([300_000, 300_000]);
    const s = await server({ files });
    const { d } = downloader({ rateLimitBytesPerSec: 1_000_000 });
    const started = performance.now();
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length).toBe(2);
    // 600 kB at 1 MB/s with a 100 kB burst: at least ~0.5 s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
  });
});

describe('Downloader: chaos (seeded)', () => {
  it('ends with every file correct or failed under random faults', async () => {
    const files = corpus(Array.from({ length: 150 }, (_, i) => 2000 + ((i * 7919) % 60_000)));
    const faults: Fault[] = [
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 429, retryAfter: '0' },
      { kind: 'reset' },
      { kind: 'truncate' },
      { kind: 'flip' },
      { kind: 'lie-length', delta: 50 },
      { kind: 'gzip' },
      { kind: 'trickle', chunkBytes: 8000, intervalMs: 5 },
    ];
    const s = await server({ files, chaos: { seed: SEED, rate: 0.35, faults } });
    const { d } = downloader({ retryCapMs: 50 });
    const out = await mirrorAll(d, s.url, files);
    expect(out.ok.length + out.failed.size).toBe(150);
    for (const [, err] of out.failed) expect(['checksum', 'size', 'http', 'network']).toContain(err.code);
    for (const p of Object.keys(files)) expect(s.requestsFor(p).length).toBeLessThanOrEqual(5);
    // With a 35% fault rate and 5 attempts, nearly everything gets through.
    expect(out.ok.length).toBeGreaterThan(140);
  });
});

describe('Downloader: proxies from the environment', () => {
  it('tunnels through HTTP_PROXY unless NO_PROXY matches', async () => {
    const files = corpus([3000]);
    const s = await server({ files });
    const tunnels: string[] = [];
    const sockets = new Set<Socket>();
    const proxy = createHttpServer();
    proxy.on('connect', (req, client: Socket) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = netConnect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on('error', () => undefined);
      }
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const via = downloader({ env: { HTTP_PROXY: proxyUrl } });
      expect((await mirrorAll(via.d, s.url, files)).ok.length).toBe(1);
      expect(tunnels).toEqual([new URL(s.url).host]);
      const direct = downloader({ env: { http_proxy: proxyUrl, NO_PROXY: '127.0.0.1' } });
      expect((await mirrorAll(direct.d, s.url, files)).ok.length).toBe(1);
      expect(tunnels.length).toBe(1);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});
