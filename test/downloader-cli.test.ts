// The managed downloader through the real CLI (`mirror sync list`) against the fault server:
// faults are retried to success, a permanently corrupt file fails the run (exit 1) without
// appearing at its final path, SIGINT mid-download exits 130 leaving nothing partial at a final
// path, and the next run resumes a big download cut by SIGINT where it stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, promises as fs, readFileSync, readdirSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { makeSelfSignedCert, seededBytes, sha256, startFaultServer, type Fault, type FaultServer } from './helpers/fault-server.js';

const SEED = 77;
const env = { MIRROR_RETRY_BASE_MS: '10', MIRROR_RETRY_CAP_MS: '50' };
let root: string;
let server: FaultServer;
const files: Record<string, Buffer> = {};
for (let i = 0; i < 40; i++) files[`/pkg/f${i}.bin`] = seededBytes(SEED, `f${i}`, 1000 + i * 1500);
files['/pkg/bad.bin'] = seededBytes(SEED, 'bad', 3000);
files['/pkg/slow.bin'] = seededBytes(SEED, 'slow', 200_000);
files['/pkg/big.bin'] = seededBytes(SEED, 'big', 5 * 1024 * 1024); // over the 4 MiB resume threshold

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mirror-dlcli-'));
  const faults: Fault[] = [{ kind: 'status', status: 503 }, { kind: 'reset' }, { kind: 'flip' }, { kind: 'truncate' }, { kind: 'gzip' }];
  server = await startFaultServer({
    files,
    chaos: { seed: SEED, rate: 0.4, faults },
    script: {
      '/pkg/bad.bin': Array(10).fill({ kind: 'flip' }),
      '/pkg/slow.bin': Array(10).fill({ kind: 'trickle', chunkBytes: 1000, intervalMs: 50 }),
      '/pkg/big.bin': [{ kind: 'trickle', chunkBytes: 64 * 1024, intervalMs: 20 }, ...Array(5).fill({ kind: 'ok' })],
    },
  });
});
afterAll(async () => {
  await server.close();
  await fs.rm(root, { recursive: true, force: true });
});

function writeList(name: string, paths: string[], base = server.url): { list: string; sums: string } {
  const list = join(root, `${name}.txt`);
  const sums = join(root, `${name}.jsonl`);
  writeFileSync(list, paths.map((p) => base + p).join('\n') + '\n');
  writeFileSync(sums, paths.map((p) => JSON.stringify({ url: base + p, sha256: sha256(files[p]), size: files[p].length })).join('\n') + '\n');
  return { list, sums };
}

const finalPath = (dest: string, p: string) => join(dest, new URL(server.url).host, ...p.split('/').slice(1));

describe('mirror sync list through the managed downloader', () => {
  it('retries injected faults to a complete, verified mirror; a corrupt file fails the run', async () => {
    const paths = Object.keys(files).filter((p) => p !== '/pkg/slow.bin' && p !== '/pkg/big.bin');
    const { list, sums } = writeList('faulty', paths);
    const dest = join(root, 'dest1');
    const r = await runCli(['sync', 'list', list, dest, '--checksums', sums, '--no-progress', '--contact', 'ops@example.org'], { env });
    expect(r.code, r.stderr).toBe(1);
    for (const p of paths) {
      if (p === '/pkg/bad.bin') expect(existsSync(finalPath(dest, p))).toBe(false);
      else expect(sha256(readFileSync(finalPath(dest, p))), p).toBe(sha256(files[p]));
    }
    expect(server.requestsFor('/pkg/bad.bin').length).toBe(2);
    expect(server.log.every((e) => /^mirror\/\S+ \(\+ops@example\.org\)$/.test(e.userAgent ?? ''))).toBe(true);
    for (const p of paths) expect(server.requestsFor(p).length).toBeLessThanOrEqual(5);
  });

  it('exits 130 on SIGINT with nothing partial at a final path', async () => {
    const paths = ['/pkg/slow.bin', '/pkg/f1.bin'];
    const { list, sums } = writeList('slow', paths);
    const dest = join(root, 'dest2');
    const before = server.requestsFor('/pkg/slow.bin').length;
    const r = await runCli(['sync', 'list', list, dest, '--checksums', sums, '--no-progress'], {
      env,
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (server.requestsFor('/pkg/slow.bin').length > before) {
            clearInterval(poll);
            setTimeout(() => child.kill('SIGINT'), 300);
          }
        }, 20);
      },
    });
    expect(r.code).toBe(130);
    expect(existsSync(finalPath(dest, '/pkg/slow.bin'))).toBe(false);
  });

  it('speaks HTTP/2 to a TLS upstream, and HTTP/1.1 with --http1', async () => {
    const certDir = mkdtempSync(join(root, 'tls-'));
    const tls = makeSelfSignedCert(certDir);
    const small = Object.fromEntries(Object.entries(files).filter(([p]) => /\/f\d\.bin$/.test(p)));
    const tlsServer = await startFaultServer({ files: small, tls });
    try {
      const { list, sums } = writeList('tls', Object.keys(small), tlsServer.url);
      const tlsEnv = { ...env, NODE_EXTRA_CA_CERTS: join(certDir, 'cert.pem') };
      for (const [flags, version] of [[[], '2.0'], [['--http1'], '1.1']] as const) {
        const before = tlsServer.log.length;
        const r = await runCli(['sync', 'list', list, join(root, `tls-${version}`), '--checksums', sums, '--no-progress', ...flags], { env: tlsEnv });
        expect(r.code, r.stderr).toBe(0);
        const versions = new Set(tlsServer.log.slice(before).map((e) => e.httpVersion));
        expect([...versions]).toEqual([version]);
      }
    } finally {
      await tlsServer.close();
    }
  });

  it('resumes a big download cut by SIGINT in the next run, and drops partials nobody wants', async () => {
    const big = '/pkg/big.bin';
    const { list, sums } = writeList('big', [big]);
    const dest = join(root, 'dest3');
    const partialDir = join(dest, '.mirror', 'partial');
    const args = ['sync', 'list', list, dest, '--checksums', sums, '--no-progress'];
    const cut = await runCli(args, {
      env,
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (server.requestsFor(big).length > 0) {
            clearInterval(poll);
            setTimeout(() => child.kill('SIGINT'), 400);
          }
        }, 20);
      },
    });
    expect(cut.code).toBe(130);
    expect(existsSync(finalPath(dest, big))).toBe(false);
    const [partial, sidecar] = readdirSync(partialDir).sort();
    expect(sidecar).toBe(`${partial}.meta`);
    const kept = statSync(join(partialDir, partial)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(files[big].length);

    const resumed = await runCli(args, { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const [, second] = server.requestsFor(big);
    expect(second).toMatchObject({ status: 206, range: `bytes=${kept}-` });
    expect(second.ifRange).toBeTruthy();
    expect(sha256(readFileSync(finalPath(dest, big)))).toBe(sha256(files[big]));
    expect(readdirSync(partialDir)).toEqual([]);

    // A partial whose file upstream no longer lists goes with the next successful run's garbage;
    // not while deletions are refused (upstream's list may just be truncated).
    await fs.writeFile(join(partialDir, 'f'.repeat(40)), 'stale');
    await fs.writeFile(join(partialDir, `${'f'.repeat(40)}.meta`), '{}');
    const other = writeList('other', ['/pkg/f2.bin']);
    const otherArgs = ['sync', 'list', other.list, dest, '--checksums', other.sums, '--no-progress', '--max-delete', '0'];
    expect((await runCli(otherArgs, { env })).code).toBe(1); // refuses to delete big.bin
    expect(readdirSync(partialDir)).toHaveLength(2);
    const r = await runCli([...otherArgs, '--force'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(partialDir)).toEqual([]);
  });
});
