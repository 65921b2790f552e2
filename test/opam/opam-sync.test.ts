// End-to-end: an opam repository of our own (fixtures/opam-repository.ts) on 127.0.0.1, with its
// source archives on a separate server; judged first as it is, then as mirrored, by Debian's opam.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDir, type StaticServer } from '../helpers/static-server.js';
import { buildOpamRepository, opamClient, type BuiltOpamRepo, type FixtureOpamRepo } from '../../fixtures/opam-repository.js';

const V1 = (): FixtureOpamRepo => ({
  archives: {
    'alpha-1.0.tar.gz': 'alpha 1.0',
    'alpha-2.0.tar.gz': 'alpha 2.0',
    'beta-1.0.tar.gz': 'beta 1.0',
    'beta-extra.tar.gz': 'beta extra source',
    'gamma-0.9.tar.gz': 'gamma 0.9',
    'shared-1.0.tar.gz': 'shared by two packages',
    'nosum-1.0.tar.gz': 'no checksum',
  },
  packages: [
    { name: 'alpha', version: '1.0', archive: 'alpha-1.0.tar.gz', checksums: ['sha256', 'md5'] },
    { name: 'alpha', version: '2.0', archive: 'alpha-2.0.tar.gz', checksums: ['sha512', 'sha256'] },
    {
      name: 'beta',
      version: '1.0',
      archive: 'beta-1.0.tar.gz',
      checksums: ['md5', 'sha512'],
      depends: ['alpha'],
      extraSource: { name: 'beta-extra.tar.gz', archive: 'beta-extra.tar.gz', checksums: ['sha256'] },
      patch: true,
    },
    { name: 'gamma', version: '0.9', archive: 'gamma-0.9.tar.gz', checksums: 'bare-md5', urlField: 'archive' },
    { name: 'shared-a', version: '1.0', archive: 'shared-1.0.tar.gz', checksums: ['sha256', 'md5'] },
    { name: 'shared-b', version: '1.0', archive: 'shared-1.0.tar.gz', checksums: ['md5', 'sha512', 'sha256'], depends: ['shared-a'] },
    { name: 'vcs', version: 'dev', src: 'git+https://127.0.0.1:9/vcs.git' },
    { name: 'nosum', version: '1.0', archive: 'nosum-1.0.tar.gz', checksums: [] },
  ],
  upstreamCache: ['alpha-1.0.tar.gz'],
});

/** Every cacheable package, as opam names them (alpha 1.0 apart: one version per install). */
const CACHEABLE = ['beta', 'gamma', 'shared-b'];

let dir: string;
let repoRoot: string;
let archivesRoot: string;
let repoServer: StaticServer;
let archiveServer: StaticServer | null = null;
let built: BuiltOpamRepo;

async function startArchives(): Promise<void> {
  archiveServer = await serveDir(archivesRoot);
}

async function stopArchives(): Promise<void> {
  await archiveServer?.close();
  archiveServer = null;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'opam-sync-'));
  repoRoot = join(dir, 'upstream');
  archivesRoot = join(dir, 'archives');
  await fs.mkdir(archivesRoot);
  await startArchives();
  built = await buildOpamRepository(repoRoot, archivesRoot, archiveServer!.url, V1());
  repoServer = await serveDir(repoRoot);
});

afterAll(async () => {
  await stopArchives();
  await repoServer?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the fixture repository, judged by opam', () => {
  it('is a repository opam updates from and downloads every source of, straight from upstream', async () => {
    const opam = opamClient(join(dir, 'opam-upstream'));
    try {
      await opam.init(repoServer.url);
      const list = await opam.run(['list', '--available', '--short', '--all-versions', '--columns=package']);
      expect(list.code).toBe(0);
      expect(list.output.split('\n').filter(Boolean).sort()).toEqual(
        ['alpha.1.0', 'alpha.2.0', 'beta.1.0', 'gamma.0.9', 'nosum.1.0', 'shared-a.1.0', 'shared-b.1.0', 'vcs.dev'],
      );
      const all = await opam.run(['install', '--download-only', ...CACHEABLE, 'nosum']);
      expect(all.output).toMatch(/retrieved beta\.1\.0/);
      expect(all.code, all.output).toBe(0);
      const old = await opam.run(['install', '--download-only', 'alpha.1.0']);
      expect(old.code, old.output).toBe(0);
      // alpha 1.0 comes from upstream's own cache (it lists sha256 first, which the cache holds).
      expect(old.output).toMatch(/retrieved alpha\.1\.0 +\(http:\/\/127\.0\.0\.1:\d+\/cache\)/);
      // The extra-source is downloaded too, and every other archive from the archive server.
      expect(new Set(archiveServer!.requests)).toEqual(new Set([...built.archives.keys()].filter((f) => f !== 'alpha-1.0.tar.gz').map((f) => `/${f}`)));
    } finally {
      opam.remove();
    }
  });
});
