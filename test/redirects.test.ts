// Redirects and credentials through the real CLI: an https → http downgrade is an error;
// redirects to another host are followed (registries send clients to CDNs) unless
// --redirect-hosts (or the config key redirect-hosts) names the hosts allowed; and credentials
// in URLs (https://user:token@host/) never appear in logs, the manifest, status or errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { makeSelfSignedCert, seededBytes, sha256, startFaultServer, type FaultServer } from './helpers/fault-server.js';

const env = { MIRROR_RETRY_BASE_MS: '10', MIRROR_RETRY_CAP_MS: '50' };
const SECRET = 's3cretT0ken';
let root: string;
let tlsEnv: NodeJS.ProcessEnv;
let cdn: FaultServer;
let origin: FaultServer;
let tlsOrigin: FaultServer;
const files = { '/f.bin': seededBytes(3, 'f', 5000), '/g.bin': seededBytes(3, 'g', 7000) };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mirror-redirects-'));
  const certDir = mkdtempSync(join(root, 'tls-'));
  const tls = makeSelfSignedCert(certDir);
  tlsEnv = { ...env, NODE_EXTRA_CA_CERTS: join(certDir, 'cert.pem') };
  cdn = await startFaultServer({ files });
  const toCdn = (p: string) => Array(20).fill({ kind: 'redirect', to: `${cdn.url}${p}` });
  origin = await startFaultServer({
    files,
    script: { '/f.bin': toCdn('/f.bin'), '/g.bin': toCdn('/g.bin') },
  });
  tlsOrigin = await startFaultServer({ files, tls, script: { '/f.bin': toCdn('/f.bin') } });
});
afterAll(async () => {
  await Promise.all([cdn.close(), origin.close(), tlsOrigin.close()]);
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function job(base: string, paths: string[]): { list: string; sums: string; dest: string } {
  const name = `job${++n}`;
  const list = join(root, `${name}.txt`);
  const sums = join(root, `${name}.jsonl`);
  writeFileSync(list, paths.map((p) => base + p).join('\n') + '\n');
  const known = paths.filter((p): p is keyof typeof files => p in files);
  writeFileSync(sums, known.map((p) => JSON.stringify({ url: base + p, sha256: sha256(files[p]) })).join('\n') + '\n');
  return { list, sums, dest: join(root, name) };
}

const host = (s: FaultServer) => new URL(s.url).host;

describe('redirects', () => {
  it('refuses an https → http downgrade', async () => {
    const { list, sums, dest } = job(tlsOrigin.url, ['/f.bin']);
    const before = cdn.requestsFor('/f.bin').length;
    const r = await runCli(['sync', 'list', list, dest, '--checksums', sums, '--no-progress'], { env: tlsEnv });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/error: .*from https: to http:/);
    expect(cdn.requestsFor('/f.bin').length).toBe(before);
  });

  it('follows a redirect to another host, unless --redirect-hosts leaves that host out', async () => {
    const open = job(origin.url, ['/f.bin']);
    const followed = await runCli(['sync', 'list', open.list, open.dest, '--checksums', open.sums, '--no-progress'], { env });
    expect(followed.code, followed.stderr).toBe(0);
    expect(readFileSync(join(open.dest, host(origin), 'f.bin')).equals(files['/f.bin'])).toBe(true);

    const closed = job(origin.url, ['/g.bin']);
    const refused = await runCli(
      ['sync', 'list', closed.list, closed.dest, '--checksums', closed.sums, '--no-progress', '--redirect-hosts', 'cdn.example.org,*.example.net'],
      { env },
    );
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`error: .*${host(cdn).replace(/\./g, '\\.')} is not one of --redirect-hosts`));
    expect(cdn.requestsFor('/g.bin')).toHaveLength(0);

    const allowed = await runCli(
      ['sync', 'list', closed.list, closed.dest, '--checksums', closed.sums, '--no-progress', '--redirect-hosts', `cdn.example.org,${host(cdn)}`],
      { env },
    );
    expect(allowed.code, allowed.stderr).toBe(0);

    const config = join(root, 'mirror.toml');
    const viaConfig = job(origin.url, ['/g.bin']);
    writeFileSync(
      config,
      `[[job]]\nname = "g"\nkind = "list"\nupstream = "${viaConfig.list}"\ndest = "${viaConfig.dest}"\nredirect-hosts = "cdn.example.org"\n` +
        `[job.options]\nchecksums = "${viaConfig.sums}"\n`,
    );
    const configRefused = await runCli(['sync', '--config', config, '--no-progress'], { env });
    expect(configRefused.code, configRefused.stdout + configRefused.stderr).toBe(1);
    expect(configRefused.stdout + configRefused.stderr).toMatch(/is not one of --redirect-hosts/);
  });
});

describe('credentials in URLs', () => {
  it('are redacted in logs, errors, the manifest and status', async () => {
    const base = origin.url.replace('://', `://mirror:${SECRET}@`);
    const { sums, dest } = job(base, ['/f.bin', '/missing.bin']);
    const listFile = join(root, 'cred-urls.txt');
    writeFileSync(listFile, `${base}/f.bin\n${base}/missing.bin\n`);
    // A list fetched from upstream: the run's upstream carries the credentials too.
    const lists = await startFaultServer({ files: { '/urls.txt': readFileSync(listFile) } });
    try {
      const listUrl = lists.url.replace('://', `://mirror:${SECRET}@`) + '/urls.txt';
      for (const format of ['json', 'text']) {
        for (const upstream of [listFile, listUrl]) {
          const r = await runCli(['sync', 'list', upstream, dest, '--checksums', sums, '--no-progress', '--log-format', format, '--log-level', 'debug'], { env });
          expect(r.code, r.stderr).toBe(1); // missing.bin: 404
          expect(r.stdout + r.stderr).not.toContain(SECRET);
          expect(r.stdout + r.stderr).toContain('mirror:***@');
        }
      }
    } finally {
      await lists.close();
    }
    for (const name of readdirSync(join(dest, '.mirror')).filter((f) => /manifest|status/.test(f))) {
      expect(readFileSync(join(dest, '.mirror', name), 'utf8'), name).not.toContain(SECRET);
    }
    for (const args of [['status', dest, '--json'], ['manifest', dest], ['manifest', dest, '--run', 'last']]) {
      expect((await runCli(args)).stdout).not.toContain(SECRET);
    }
  });
});
