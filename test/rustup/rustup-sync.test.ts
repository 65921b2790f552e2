// End-to-end: the fixture dist server mirrored by the real CLI, the mirror served and judged by
// the machine's real rustup with the fixture upstream stopped; then upstream publishes a new
// nightly and a new beta; then bad upstream input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dropKey, makeKey, type ArchiveKey } from '../../fixtures/apt-archive.js';
import { findRustup, HOST, releaseArchives, RustDist, rustupClient, type DistRelease } from '../../fixtures/rust-dist.js';
import { runCli } from '../helpers/cli.js';
import { serveDir, type StaticServer } from '../helpers/static-server.js';
import { readTree } from '../helpers/tree.js';
import { BETA, expectInstalls, INITIAL, NEW_BETA, NEW_NIGHTLY, NIGHTLIES, SECOND_TARGET } from './rustup-client.js';

const rustup = findRustup();
if (!rustup) console.warn('SKIPPED rustup mirror tests: no `rustup` on PATH (CI images ship one; install it from https://rustup.rs)');

const ARGS = ['--channel', 'stable', '--channel', 'beta', '--channel', 'nightly', '--target', HOST, '--target', SECOND_TARGET];
const RETENTION = ['--keep-nightly', '3', '--keep-beta', '1', '--no-progress', '--max-delete', '100%'];

let dir: string;
let key: ArchiveKey;
let otherKey: ArchiveKey;
let dist: RustDist;
let up: StaticServer;
let upPort = 0;
/** Set by a test to answer some upstream requests itself. */
let fault: ((req: IncomingMessage, res: ServerResponse) => boolean) | null = null;

async function startUpstream(): Promise<void> {
  up = await serveDir(dist.root, (req, res) => (fault ? fault(req, res) : false), upPort);
  upPort = up.port;
}

function sync(dest: string, extra: string[] = []) {
  return runCli(['sync', 'rustup', up.url, dest, ...ARGS, ...RETENTION, '--keyring', key.keyring, ...extra]);
}

/** Manifest files (toml, .sha256, .asc) of the upstream tree, by path. */
function manifestFiles(root: string): Map<string, Buffer> {
  return new Map([...readTree(root)].filter(([p]) => /channel-rust-[^/]+\.toml(\.sha256|\.asc)?$/.test(p) || p === 'rustup/release-stable.toml'));
}

function isSelected(path: string): boolean {
  return path.endsWith('.tar.xz') && (path.includes(HOST) || path.includes(SECOND_TARGET) || /\/rust-src-[^-]+\.tar\.xz$/.test(path));
}

/** The real rustup against the mirror, with the upstream stopped for the whole check. */
async function judgeWithUpstreamStopped(dest: string, name: string, check: (client: Awaited<ReturnType<typeof rustupClient>>) => Promise<void>) {
  await up.close();
  const mirror = await serveDir(dest);
  try {
    await check(await rustupClient(join(dir, name), mirror.url, rustup!));
    expect(mirror.requests.some((p) => p.startsWith('/dist/'))).toBe(true);
  } finally {
    await mirror.close();
    await startUpstream();
  }
}

beforeAll(async () => {
  if (!rustup) return;
  dir = mkdtempSync(join(tmpdir(), 'rustup-sync-'));
  [key, otherKey] = await Promise.all([makeKey(join(dir, 'key'), 'Rust Fixture Signing'), makeKey(join(dir, 'other-key'), 'Someone Else')]);
  dist = RustDist.create(join(dir, 'upstream'), key);
  for (const r of INITIAL) await dist.publish(r);
  dist.publishRustup('1.29.1');
  await startUpstream();
});

afterAll(async () => {
  await up?.close();
  if (key) await dropKey(key);
  if (otherKey) await dropKey(otherKey);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe.skipIf(!rustup)('rustup mirror, judged by the real rustup', () => {
  let dest: string;

  it('mirrors byte-identical manifests and the selected xz archives with their .sha256; rustup installs everything from it', async () => {
    dest = join(dir, 'mirror');
    const r = await sync(dest, ['--rustup-init']);
    expect(r.stderr + r.stdout).not.toMatch(/ERROR/);
    expect(r.code).toBe(0);
    const upstream = readTree(dist.root);
    const mirror = readTree(dest);
    // Every manifest name upstream has for the kept releases, byte for byte (nothing dropped yet).
    const manifests = manifestFiles(dist.root);
    for (const [path, bytes] of manifests) expect(mirror.get(path), path).toEqual(bytes);
    // The archives: xz only, the selected targets and target-independent packages, each with upstream's .sha256.
    const wanted = INITIAL.flatMap(releaseArchives).filter(isSelected).sort();
    const archives = [...mirror.keys()].filter((p) => /\.tar\.(xz|gz)$/.test(p)).sort();
    expect(archives).toEqual(wanted);
    for (const p of archives) {
      expect(mirror.get(p)).toEqual(upstream.get(p));
      expect(mirror.get(`${p}.sha256`)?.toString()).toBe(upstream.get(`${p}.sha256`)!.toString());
    }
    // rustup itself for the selected host triple only.
    expect([...mirror.keys()].filter((p) => p.startsWith('rustup/')).sort()).toEqual(
      [`rustup/archive/1.29.1/${HOST}/rustup-init`, `rustup/archive/1.29.1/${HOST}/rustup-init.sha256`, `rustup/dist/${HOST}/rustup-init`, `rustup/dist/${HOST}/rustup-init.sha256`, 'rustup/release-stable.toml'].sort(),
    );
    const other = [...mirror.keys()].filter((p) => !manifests.has(p) && !archives.includes(p) && !p.endsWith('.tar.xz.sha256') && !p.startsWith('rustup/'));
    expect(other).toEqual([]);

    await judgeWithUpstreamStopped(dest, 'client-1', (client) => expectInstalls(client, NIGHTLIES[2], NIGHTLIES[0]));
  });

  it('a rerun with nothing new upstream reads only the channel heads and changes nothing', async () => {
    const before = readTree(dest);
    up.requests.length = 0;
    const r = await sync(dest, ['--rustup-init']);
    expect(r.code).toBe(0);
    expect(up.requests.sort()).toEqual(
      ['/dist/channel-rust-beta.toml.sha256', '/dist/channel-rust-nightly.toml.sha256', '/dist/channel-rust-stable.toml.sha256', '/rustup/release-stable.toml'].sort(),
    );
    expect(readTree(dest)).toEqual(before);
  });

  it('upstream publishes a new nightly and a new beta: the rerun fetches only those, retention drops the oldest nightly and the old beta', async () => {
    await dist.publish(NEW_BETA);
    await dist.publish(NEW_NIGHTLY);
    up.requests.length = 0;
    const r = await sync(dest, ['--rustup-init']);
    expect(r.stderr + r.stdout).not.toMatch(/ERROR/);
    expect(r.code).toBe(0);
    const fresh = [NEW_BETA, NEW_NIGHTLY];
    const archiveRequests = up.requests.filter((p) => p.includes('.tar.'));
    expect(archiveRequests.sort()).toEqual(fresh.flatMap(releaseArchives).filter(isSelected).map((p) => `/${p}`).sort());
    // Old dated manifests were checked by their .sha256 only, never downloaded again.
    const manifestBodies = up.requests.filter((p) => /^\/dist\/\d{4}-\d{2}-\d{2}\/channel-rust-[^/]+\.toml$/.test(p));
    expect(manifestBodies.sort()).toEqual([`/dist/${NEW_BETA.date}/channel-rust-beta.toml`, `/dist/${NEW_NIGHTLY.date}/channel-rust-nightly.toml`]);

    const mirror = readTree(dest);
    const kept: DistRelease[] = [...INITIAL.filter((x) => x.channel === 'stable'), NEW_BETA, NIGHTLIES[1], NIGHTLIES[2], NEW_NIGHTLY];
    const dropped: DistRelease[] = [BETA, NIGHTLIES[0]];
    for (const x of kept) for (const p of releaseArchives(x).filter(isSelected)) expect(mirror.has(p), p).toBe(true);
    for (const x of dropped) {
      for (const p of releaseArchives(x)) expect(mirror.has(p), p).toBe(false);
      expect(mirror.has(`dist/${x.date}/channel-rust-${x.channel}.toml`)).toBe(false);
    }
    for (const name of ['channel-rust-nightly.toml', 'channel-rust-beta.toml', 'channel-rust-stable.toml']) {
      expect(mirror.get(`dist/${name}`)).toEqual(readFileSync(join(dist.root, 'dist', name)));
      expect(mirror.get(`dist/${name}.sha256`)).toEqual(readFileSync(join(dist.root, 'dist', `${name}.sha256`)));
    }

    await judgeWithUpstreamStopped(dest, 'client-2', (client) => expectInstalls(client, NEW_NIGHTLY, NIGHTLIES[1], NEW_BETA));
  });
});

describe.skipIf(!rustup)('rustup mirror: bad upstream input publishes nothing and exits 1', () => {
  const NEXT: DistRelease = { channel: 'nightly', date: '2026-11-30', version: '1.92.0-nightly' };
  let dest: string;
  let published: Map<string, Buffer>;

  beforeAll(async () => {
    if (!rustup) return;
    dest = join(dir, 'mirror-bad');
    const r = await sync(dest, ['--channel', 'nightly']);
    expect(r.code).toBe(0);
    await dist.publish(NEXT);
    published = manifestFiles(dest);
  });

  const serve = (path: string, body: Buffer | string) => (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== `/${path}`) return false;
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
    return true;
  };

  async function expectRefused(message: RegExp) {
    const r = await sync(dest);
    fault = null;
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toMatch(message);
    expect(manifestFiles(dest)).toEqual(published);
    expect(existsSync(join(dest, `dist/${NEXT.date}/channel-rust-nightly.toml`))).toBe(false);
  }

  it('a manifest whose .sha256 disagrees', async () => {
    const path = `dist/${NEXT.date}/channel-rust-nightly.toml`;
    fault = serve(path, readFileSync(join(dist.root, path), 'utf8') + '# tampered\n');
    await expectRefused(/checksum|sha256|mismatch/i);
  });

  it('a manifest signature (.asc) by a key not in --keyring', async () => {
    const path = `dist/${NEXT.date}/channel-rust-nightly.toml`;
    const { execFileSync } = await import('node:child_process');
    const forged = execFileSync('gpg', ['--batch', '--armor', '--detach-sign', '--local-user', otherKey.fingerprint, '--output', '-', join(dist.root, path)], {
      env: { ...process.env, GNUPGHOME: otherKey.gnupgHome },
    });
    fault = serve(`${path}.asc`, forged);
    await expectRefused(/signature/i);
  });

  it('a component archive whose hash does not match the manifest', async () => {
    const archive = releaseArchives(NEXT).find((p) => p.endsWith('.tar.xz') && p.includes(`rustc-nightly-${HOST}`))!;
    fault = serve(archive, Buffer.from('not the archive'));
    await expectRefused(/failed/i);
  });

  it('once upstream is sound again the same run goes through', async () => {
    const r = await sync(dest);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dest, `dist/${NEXT.date}/channel-rust-nightly.toml`))).toEqual(readFileSync(join(dist.root, `dist/${NEXT.date}/channel-rust-nightly.toml`)));
  });
});

describe('rustup mirror: bad command lines exit 2 and publish nothing', () => {
  it.each([
    [['--channel', 'nightly'], /--target is required/],
    [['--target', 'linux', '--channel', 'dev'], /--channel 'dev' is not one of/],
    [['--target', 'linux', '--format', 'zip'], /--format 'zip'/],
    [['--target', 'linux', '--keep-nightly', 'many'], /--keep-nightly 'many'/],
  ])('%j', async (args, message) => {
    const dest = join(mkdtempSync(join(tmpdir(), 'rustup-usage-')), 'mirror');
    const r = await runCli(['sync', 'rustup', 'http://127.0.0.1:9', dest, ...args, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(dest) ? [...readTree(dest).keys()] : []).toEqual([]);
  });
});
