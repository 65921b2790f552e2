// End-to-end: a real signed apt archive (dpkg-deb, apt-ftparchive, gpg) served on 127.0.0.1,
// mirrored by the real CLI, served again and judged by the real apt-get.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runCli } from '../helpers/cli.js';
import { serveDir, type StaticServer } from '../helpers/static-server.js';
import { readTree } from '../helpers/tree.js';
import { sha256File } from '../../src/util/hash-file.js';
import { aptClient, buildArchive, debPath, dropKey, listFiles, makeKey, signSuite, type ArchiveKey, type FixturePackage } from '../../fixtures/apt-archive.js';

const V1: FixturePackage[] = [
  { name: 'alpha', version: '1.0' },
  { name: 'beta', version: '1.0', arch: 'all', depends: 'alpha' },
  { name: 'libgamma', version: '1.0', section: 'libs' },
  { name: 'delta-dbg', version: '1.0', section: 'debug', priority: 'extra' },
];
const V2: FixturePackage[] = [
  { name: 'alpha', version: '2.0' },
  { name: 'beta', version: '1.0', arch: 'all', depends: 'alpha' },
  { name: 'delta-dbg', version: '1.0', section: 'debug', priority: 'extra' },
];

let dir: string;
let key: ArchiveKey;
let otherKey: ArchiveKey;
let upRoot: string;
let up: StaticServer;
/** Set by a test to answer some upstream requests itself. */
let fault: ((req: IncomingMessage, res: ServerResponse) => boolean) | null = null;

// The test archive is tiny, so one release replaces a large share of it: allow the deletions.
const SUITE_ARGS = ['--suite', 'stable', '--component', 'main', '--arch', 'amd64', '--sources', '--no-progress', '--max-delete', '100%'];

function sync(dest: string, extra: string[] = [], env?: NodeJS.ProcessEnv) {
  return runCli(['sync', 'apt', up.url, dest, ...SUITE_ARGS, ...extra], { env });
}

async function withMirror<T>(dest: string, fn: (url: string) => Promise<T>): Promise<T> {
  const server = await serveDir(dest);
  try {
    return await fn(server.url);
  } finally {
    await server.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apt-sync-'));
  [key, otherKey] = await Promise.all([makeKey(join(dir, 'key')), makeKey(join(dir, 'other-key'), 'Someone Else')]);
  upRoot = join(dir, 'upstream');
  await buildArchive(upRoot, { key, sources: true, packages: V1 });
  up = await serveDir(upRoot, (req, res) => (fault ? fault(req, res) : false));
});

afterAll(async () => {
  await up?.close();
  if (key) await dropKey(key);
  if (otherKey) await dropKey(otherKey);
  await fs.rm(dir, { recursive: true, force: true });
});

describe('apt mirror, judged by apt-get', () => {
  let dest: string;
  let client: Awaited<ReturnType<typeof aptClient>>;
  let v1ByHash: string[];

  it('mirrors a signed archive that apt-get update / install / source accept', async () => {
    dest = join(dir, 'mirror');
    const r = await sync(dest, ['--keyring', key.keyring]);
    expect(r.stderr + r.stdout).not.toMatch(/ERROR/);
    expect(r.code).toBe(0);
    const files = await listFiles(dest);
    for (const f of ['dists/stable/InRelease', 'dists/stable/Release', 'dists/stable/Release.gpg', 'dists/stable/main/binary-amd64/Packages.xz']) {
      expect(files).toContain(f);
      expect(readFileSync(join(dest, f))).toEqual(readFileSync(join(upRoot, f)));
    }
    for (const p of V1) expect(files).toContain(debPath('main', p));
    v1ByHash = files.filter((f) => f.includes('/by-hash/SHA256/'));
    expect(v1ByHash.length).toBeGreaterThanOrEqual(4);
    // Listed in Release but absent upstream (like Debian's plain Packages): absent here too.
    expect(files).not.toContain('dists/stable/main/binary-amd64/Packages');

    await withMirror(dest, async (url) => {
      client = await aptClient(join(dir, 'apt'), url, 'stable', key.keyring, 'main', true);
      const update = await client.run(['update']);
      expect(update.output).not.toMatch(/^(W|E|Err):/m);
      expect(update.code).toBe(0);
      expect(update.output).toMatch(/stable InRelease/);
      const install = await client.run(['install', '--download-only', '-y', 'beta', 'libgamma']);
      expect(install.code, install.output).toBe(0);
      expect(await client.downloaded()).toEqual(['alpha_1.0_amd64.deb', 'beta_1.0_all.deb', 'libgamma_1.0_amd64.deb']);
      const source = await client.run(['source', '--download-only', 'alpha']);
      expect(source.code, source.output).toBe(0);
      expect(existsSync(join(client.dir, 'alpha_1.0.dsc'))).toBe(true);
    });
  });

  it('reruns against an unchanged upstream with one request and no downloads', async () => {
    up.requests.length = 0;
    const r = await sync(dest, ['--keyring', key.keyring]);
    expect(r.code, r.stderr).toBe(0);
    expect(up.requests).toEqual(['/dists/stable/InRelease']);
    expect(r.stdout + r.stderr).toMatch(/downloaded 0/);
  });

  it('follows upstream: new version, removed package, old by-hash generation kept', async () => {
    await buildArchive(upRoot, { key, sources: true, packages: V2 });
    const r = await sync(dest, ['--keyring', key.keyring]);
    expect(r.code, r.stderr).toBe(0);
    const files = await listFiles(dest);
    expect(files).toContain(debPath('main', V2[0]));
    expect(files).not.toContain(debPath('main', V1[0])); // alpha 1.0 replaced
    expect(files).not.toContain(debPath('main', V1[2])); // libgamma removed
    expect(files).not.toContain('pool/main/a/alpha/alpha_1.0.dsc');
    for (const f of v1ByHash) expect(files).toContain(f); // clients holding the old InRelease still work
    expect(readFileSync(join(dest, 'dists/stable/InRelease'))).toEqual(readFileSync(join(upRoot, 'dists/stable/InRelease')));

    await withMirror(dest, async (url) => {
      const again = await aptClient(join(dir, 'apt'), url, 'stable', key.keyring, 'main', true);
      const update = await again.run(['update']);
      expect(update.output).not.toMatch(/^(W|E|Err):/m);
      expect(update.code).toBe(0);
      const install = await again.run(['install', '--download-only', '-y', 'alpha']);
      expect(install.code, install.output).toBe(0);
      expect(await again.downloaded()).toContain('alpha_2.0_amd64.deb');
      expect((await again.run(['install', '--download-only', '-y', 'libgamma'])).code).not.toBe(0);
    });
  });

  it('drops by-hash generations beyond --by-hash-keep', async () => {
    await buildArchive(upRoot, { key, sources: true, packages: [...V2, { name: 'epsilon', version: '1.0' }] });
    const r = await sync(dest, ['--keyring', key.keyring, '--by-hash-keep', '0']);
    expect(r.code, r.stderr).toBe(0);
    const files = await listFiles(dest);
    // Only the current generation is left: every by-hash file is a copy of a shipped index file.
    const current = new Set(
      await Promise.all(files.filter((f) => f.startsWith('dists/') && !f.includes('/by-hash/')).map((f) => sha256File(join(dest, f)))),
    );
    const byHash = files.filter((f) => f.includes('/by-hash/SHA256/'));
    expect(byHash.length).toBeGreaterThan(0);
    for (const f of byHash) expect(current.has(f.slice(f.lastIndexOf('/') + 1)), f).toBe(true);
    const v1Only = v1ByHash.filter((f) => !current.has(f.slice(f.lastIndexOf('/') + 1)));
    expect(v1Only.length).toBeGreaterThan(0);
    for (const f of v1Only) expect(files).not.toContain(f);
  });

  describe('refuses untrustworthy upstream state, publishing nothing', () => {
    const snapshot = () => readTree(dest);
    /** With `f` answering upstream requests, a sync exits 1 with stderr matching `stderrPattern` and changes nothing. */
    const expectRefusedUnchanged = async (f: NonNullable<typeof fault>, stderrPattern: RegExp) => {
      const before = snapshot();
      fault = f;
      try {
        const r = await sync(dest, ['--keyring', key.keyring]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(stderrPattern);
      } finally {
        fault = null;
      }
      expect(snapshot()).toEqual(before);
    };
    let next: FixturePackage[];

    beforeAll(async () => {
      next = [...V2, { name: 'epsilon', version: '1.0' }, { name: 'zeta', version: '1.0' }];
      await buildArchive(upRoot, { key, sources: true, packages: next });
    });

    it('a tampered Packages file', async () => {
      await expectRefusedUnchanged(
        (req, res) => {
          if (!/binary-amd64\/(Packages|by-hash)/.test(req.url ?? '')) return false;
          const body = readFileSync(join(upRoot, 'dists/stable/main/binary-amd64/Packages.xz'));
          body[body.length - 20] ^= 0xff;
          res.writeHead(200, { 'content-length': body.length }).end(body);
          return true;
        },
        /mismatch/,
      );
    });

    it('an InRelease signed by a key not in the keyring', async () => {
      const before = snapshot();
      const distDir = join(upRoot, 'dists/stable');
      await signSuite(distDir, otherKey);
      try {
        const r = await sync(dest, ['--keyring', key.keyring]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/InRelease: signature not verified \(signed by a key not in the keyring\)/);
      } finally {
        await signSuite(distDir, key);
      }
      expect(snapshot()).toEqual(before);
    });

    it('an InRelease whose text was altered after signing', async () => {
      await expectRefusedUnchanged(
        (req, res) => {
          if (req.url !== '/dists/stable/InRelease') return false;
          const text = readFileSync(join(upRoot, 'dists/stable/InRelease'), 'utf8').replace('Label: MirrorTest', 'Label: Evil');
          res.writeHead(200).end(text);
          return true;
        },
        /BAD signature/,
      );
    });

    it('a Release that disagrees with InRelease', async () => {
      await expectRefusedUnchanged(
        (req, res) => {
          if (req.url !== '/dists/stable/Release') return false;
          res.writeHead(200).end(readFileSync(join(upRoot, 'dists/stable/Release'), 'utf8').replace('Label: MirrorTest', 'Label: Other'));
          return true;
        },
        /Release and InRelease disagree/,
      );
    });

    it('an unsigned Release (no InRelease, no Release.gpg)', async () => {
      await expectRefusedUnchanged(
        (req, res) => {
          if (req.url !== '/dists/stable/InRelease' && req.url !== '/dists/stable/Release.gpg') return false;
          res.writeHead(404).end();
          return true;
        },
        /Release is unsigned/,
      );
    });

    it('then mirrors the good upstream again', async () => {
      const r = await sync(dest, ['--keyring', key.keyring]);
      expect(r.code, r.stderr).toBe(0);
      const files = await listFiles(dest);
      for (const p of next) expect(files).toContain(debPath('main', p));
    });
  });

  it('a run with upstream problems publishes, is rediscovered, and its by-hash generation is kept, then expires', async () => {
    const currentByHash = async () => {
      const files = await listFiles(dest);
      const shipped = new Set(
        await Promise.all(files.filter((f) => f.startsWith('dists/') && !f.includes('/by-hash/')).map((f) => sha256File(join(dest, f)))),
      );
      return files.filter((f) => f.includes('/by-hash/SHA256/') && shipped.has(f.slice(f.lastIndexOf('/') + 1)));
    };
    const bad = 'Package: broken\nVersion: 1\nArchitecture: amd64\nFilename: dists/stable/evil\nSize: 1\n\n';
    const withProblem = [...V2, { name: 'eta', version: '1.0' }];
    await buildArchive(upRoot, { key, sources: true, packages: withProblem, extraPackages: bad });
    const first = await sync(dest, ['--keyring', key.keyring]);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/points into dists\//);
    expect(await listFiles(dest)).toContain(debPath('main', withProblem[3])); // published all the same
    const problemGeneration = await currentByHash();
    expect(problemGeneration.length).toBeGreaterThan(0);

    up.requests.length = 0;
    const again = await sync(dest, ['--keyring', key.keyring]);
    expect(again.code).toBe(1); // rediscovered (not the one-request no-op), so reported again
    expect(up.requests.length).toBeGreaterThan(1);

    await buildArchive(upRoot, { key, sources: true, packages: [...withProblem, { name: 'theta', version: '1.0' }] });
    const fixed = await sync(dest, ['--keyring', key.keyring, '--by-hash-keep', '1']);
    expect(fixed.code, fixed.stderr).toBe(0);
    const afterFix = await listFiles(dest);
    for (const f of problemGeneration) expect(afterFix).toContain(f); // clients holding that InRelease still work
    const fixedGeneration = new Set(await currentByHash());

    await buildArchive(upRoot, { key, sources: true, packages: [...withProblem, { name: 'iota', version: '1.0' }] });
    const later = await sync(dest, ['--keyring', key.keyring, '--by-hash-keep', '1']);
    expect(later.code, later.stderr).toBe(0);
    const now = new Set([...(await currentByHash()), ...fixedGeneration]);
    const expired = problemGeneration.filter((f) => !now.has(f));
    expect(expired.length).toBeGreaterThan(0);
    const files = await listFiles(dest);
    for (const f of expired) expect(files).not.toContain(f); // two generations back, beyond --by-hash-keep 1
    for (const f of fixedGeneration) expect(files).toContain(f); // one generation back
  });
});

describe('apt mirror with filters', () => {
  it('publishes regenerated indexes re-signed with --sign-key, without the excluded packages', async () => {
    await buildArchive(upRoot, { key, sources: true, packages: V1 });
    const dest = join(dir, 'filtered');
    const r = await sync(dest, ['--keyring', key.keyring, '--exclude', '^libgamma$', '--exclude-section', 'debug', '--sign-key', key.fingerprint], {
      GNUPGHOME: key.gnupgHome,
    });
    expect(r.code, r.stderr).toBe(0);
    const files = await listFiles(dest);
    expect(files).toContain(debPath('main', V1[0]));
    expect(files).toContain(debPath('main', V1[1]));
    expect(files).not.toContain(debPath('main', V1[2]));
    expect(files).not.toContain(debPath('main', V1[3]));
    expect(files).not.toContain('pool/main/libg/libgamma/libgamma_1.0.dsc');
    expect(readFileSync(join(dest, 'dists/stable/Release'), 'utf8')).not.toEqual(readFileSync(join(upRoot, 'dists/stable/Release'), 'utf8'));

    await withMirror(dest, async (url) => {
      const client = await aptClient(join(dir, 'apt-filtered'), url, 'stable', key.keyring, 'main', true);
      const update = await client.run(['update']);
      expect(update.output).not.toMatch(/^(W|E|Err):/m);
      expect(update.code).toBe(0);
      expect((await client.run(['install', '--download-only', '-y', 'beta'])).code).toBe(0);
      expect(await client.downloaded()).toEqual(['alpha_1.0_amd64.deb', 'beta_1.0_all.deb']);
      expect((await client.run(['install', '--download-only', '-y', 'libgamma'])).code).not.toBe(0);
    });
  });

  it('publishes an unsigned Release, with a warning, when no --sign-key is given', async () => {
    const dest = join(dir, 'filtered-unsigned');
    const r = await sync(dest, ['--keyring', key.keyring, '--include', '^(alpha|beta)$']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/UNSIGNED Release/);
    const files = await listFiles(dest);
    expect(files).toContain('dists/stable/Release');
    expect(files).not.toContain('dists/stable/InRelease');
    expect(files).not.toContain('dists/stable/Release.gpg');
    await withMirror(dest, async (url) => {
      const client = await aptClient(join(dir, 'apt-unsigned'), url, 'stable', null, 'main');
      const update = await client.run(['update']);
      expect(update.code, update.output).toBe(0);
      expect((await client.run(['install', '--download-only', '-y', 'beta'])).code).toBe(0);
      expect(await client.downloaded()).toEqual(['alpha_1.0_amd64.deb', 'beta_1.0_all.deb']);
    });
  });
});

describe('apt options', () => {
  it.each([
    [['--arch', 'amd64'], /--suite is required/],
    [['--suite', 'stable'], /--arch is required/],
    [['--suite', 'stable', '--arch', 'amd64'], /--keyring is required/],
    [['--suite', '../x', '--arch', 'amd64', '--no-verify-signature'], /--suite '\.\.\/x' is not a valid suite name/],
    [['--suite', 'stable', '--arch', 'amd64', '--no-verify-signature', '--exclude', '('], /--exclude '\(' is not a valid regular expression/],
    [['--suite', 'stable', '--arch', 'arm64', '--no-verify-signature'], /lists no main\/binary-arm64\/Packages/],
  ])('%j is refused with exit 2', async (args, message) => {
    const r = await runCli(['sync', 'apt', up.url, join(dir, 'bad-options'), '--no-progress', ...args]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });
});

describe('apt mirror of two suites sharing one pool', () => {
  it('mirrors both in one run; apt-get works on each; the no-op rerun asks for the two InRelease only', async () => {
    const root = join(dir, 'two-suites');
    await buildArchive(root, { key, suite: 'stable', packages: [V1[0], V1[1]] });
    await buildArchive(root, { key, suite: 'stable-updates', packages: [{ name: 'alpha', version: '1.1' }], prunePool: false });
    const server = await serveDir(root);
    try {
      const dest = join(dir, 'two-suites-mirror');
      const args = ['sync', 'apt', server.url, dest, '--suite', 'stable', '--suite', 'stable-updates', '--arch', 'amd64', '--keyring', key.keyring, '--no-progress'];
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(0);
      const files = await listFiles(dest);
      for (const f of ['dists/stable/InRelease', 'dists/stable-updates/InRelease', debPath('main', V1[0]), debPath('main', V1[1]), 'pool/main/a/alpha/alpha_1.1_amd64.deb']) {
        expect(files).toContain(f);
      }
      await withMirror(dest, async (url) => {
        const updates = await aptClient(join(dir, 'apt-updates'), url, 'stable-updates', key.keyring);
        expect((await updates.run(['update'])).code).toBe(0);
        expect((await updates.run(['install', '--download-only', '-y', 'alpha'])).code).toBe(0);
        expect(await updates.downloaded()).toEqual(['alpha_1.1_amd64.deb']);
      });
      server.requests.length = 0;
      const again = await runCli(args);
      expect(again.code, again.stderr).toBe(0);
      expect(server.requests.sort()).toEqual(['/dists/stable-updates/InRelease', '/dists/stable/InRelease']);
    } finally {
      await server.close();
    }
  });
});
