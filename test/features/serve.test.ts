// `mirror serve` through the real CLI: content types, validators and 304, ranges, refusal of
// directory escapes and of the private .mirror/ directory.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runCli, type CliResult } from '../helpers/cli.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(base: string, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    // http.request sends the path exactly as given (no '..' normalisation), like a hostile client.
    const req = request({ hostname, port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('mirror serve', () => {
  let root: string;
  let child: ChildProcess;
  let done: Promise<CliResult>;
  let base: string;
  const crate = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mirror-serve-'));
    mkdirSync(join(root, 'se/rd'), { recursive: true });
    mkdirSync(join(root, 'crates/serde'), { recursive: true });
    mkdirSync(join(root, '.mirror'));
    writeFileSync(join(root, 'config.json'), '{"dl":"http://example/crates"}\n');
    writeFileSync(join(root, 'se/rd/serde'), '{"name":"serde","vers":"1.0.0"}\n');
    writeFileSync(join(root, 'crates/serde/serde-1.0.0.crate'), crate);
    writeFileSync(join(root, '.mirror/state.db'), 'secret');
    writeFileSync(join(tmpdir(), 'mirror-serve-outside.txt'), 'outside');
    let url!: (u: string) => void;
    const listening = new Promise<string>((r) => (url = r));
    done = runCli(['serve', root, '--listen', '127.0.0.1:0'], {
      onSpawn: (c) => {
        child = c;
        let out = '';
        c.stdout!.on('data', (d) => {
          out += d;
          const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
          if (m) url(m[1]);
        });
      },
    });
    base = await Promise.race([listening, done.then((r) => Promise.reject(new Error(`serve exited: ${r.stderr}`)))]);
  });

  afterAll(async () => {
    child?.kill('SIGTERM');
    await done;
    rmSync(root, { recursive: true, force: true });
  });

  it('serves files with content types, ETag and Last-Modified', async () => {
    const json = await get(base, '/config.json');
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json');
    expect(json.body.toString()).toContain('"dl"');
    const index = await get(base, '/se/rd/serde');
    expect(index.headers['content-type']).toMatch(/^text\/plain/);
    const bin = await get(base, '/crates/serde/serde-1.0.0.crate');
    expect(bin.status).toBe(200);
    expect(bin.headers['content-type']).toBe('application/gzip');
    expect(bin.body.equals(crate)).toBe(true);
    expect(bin.headers.etag).toMatch(/^"[0-9a-f-]+"$/);
    expect(new Date(bin.headers['last-modified'] as string).getTime()).toBeGreaterThan(0);
    const head = await get(base, '/crates/serde/serde-1.0.0.crate', {}, 'HEAD');
    expect(head.headers['content-length']).toBe(String(crate.length));
    expect(head.body.length).toBe(0);
  });

  it('answers 304 to a revalidation (If-None-Match and If-Modified-Since)', async () => {
    const first = await get(base, '/se/rd/serde');
    const etag = first.headers.etag as string;
    const again = await get(base, '/se/rd/serde', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
    const changed = await get(base, '/se/rd/serde', { 'if-none-match': '"other"' });
    expect(changed.status).toBe(200);
    const since = await get(base, '/se/rd/serde', { 'if-modified-since': first.headers['last-modified'] as string });
    expect(since.status).toBe(304);
  });

  it('serves single byte ranges and refuses unsatisfiable ones', async () => {
    const part = await get(base, '/crates/serde/serde-1.0.0.crate', { range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-19/${crate.length}`);
    expect(part.body.equals(crate.subarray(10, 20))).toBe(true);
    const tail = await get(base, '/crates/serde/serde-1.0.0.crate', { range: 'bytes=-5' });
    expect(tail.body.equals(crate.subarray(crate.length - 5))).toBe(true);
    const bad = await get(base, '/crates/serde/serde-1.0.0.crate', { range: 'bytes=99999-' });
    expect(bad.status).toBe(416);
    const stale = await get(base, '/crates/serde/serde-1.0.0.crate', { range: 'bytes=0-1', 'if-range': '"stale"' });
    expect(stale.status).toBe(200);
  });

  it('refuses directory escapes and hides .mirror/', async () => {
    for (const p of ['/../mirror-serve-outside.txt', '/se/../../mirror-serve-outside.txt', '/%2e%2e/mirror-serve-outside.txt', '/se/%2F..%2F..%2Fetc/passwd', '/se//rd/serde']) {
      const r = await get(base, p);
      expect(r.status, p).toBe(400);
      expect(r.body.toString()).not.toContain('outside');
    }
    expect((await get(base, '/.mirror/state.db')).status).toBe(404);
    expect((await get(base, '/%2Emirror/state.db')).status).toBe(404);
    const listing = await get(base, '/');
    expect(listing.status).toBe(200);
    expect(listing.body.toString()).toContain('config.json');
    expect(listing.body.toString()).not.toContain('.mirror');
    expect((await get(base, '/se')).status).toBe(301);
    expect((await get(base, '/config.json', {}, 'DELETE')).status).toBe(405);
  });
});
