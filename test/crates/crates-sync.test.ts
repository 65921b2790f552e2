// crates end to end: a real registry (cargo-packaged crates, a git index over dumb HTTP on
// 127.0.0.1) mirrored by the real CLI, served, and used by the real `cargo fetch`; then an
// upstream day (new versions, a yank, a deleted crate) mirrored as a delta; and a .crate whose
// bytes do not match its cksum.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { serveDir, type StaticServer } from '../helpers/static-server.js';
import { CARGO, cargoProject, packageCrates, UpstreamRegistry, type PackagedCrate } from '../../fixtures/crates-registry.js';

const run = promisify(execFile);

async function cargoFetch(project: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  try {
    const r = await run(CARGO, ['fetch'], { cwd: project, env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function lastRun(dest: string): Record<string, unknown> {
  const db = new Database(join(dest, '.mirror', 'state.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get() as Record<string, unknown>;
  } finally {
    db.close();
  }
}

const crateDownloads = (requests: string[]) => requests.filter((r) => r.startsWith('/dl/')).sort();

describe('crates sync', () => {
  let tmp: string;
  let upServer: StaticServer;
  let mirrorServer: StaticServer;
  let up: UpstreamRegistry;
  let dest: string;
  let round2: PackagedCrate[];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'crates-sync-'));
    up = new UpstreamRegistry(join(tmp, 'up'));
    mkdirSync(up.root, { recursive: true });
    upServer = await serveDir(up.root);
    dest = join(tmp, 'mirror');
    mkdirSync(dest, { recursive: true });
    mirrorServer = await serveDir(dest);

    const ws1 = packageCrates(join(tmp, 'ws1'), [
      { name: 'a', vers: '0.1.0' },
      { name: 'Bc', vers: '0.1.0', deps: { a: '0.1' } },
      { name: 'c_d', vers: '0.1.0' },
      { name: 'my-Crate', vers: '0.1.0', deps: { Bc: '0.1', c_d: '0.1' } },
      { name: 'gone_soon', vers: '1.0.0' },
    ]);
    const ws2 = packageCrates(join(tmp, 'ws2'), [
      { name: 'c_d', vers: '0.1.1' },
      { name: 'Bc', vers: '0.0.9' },
    ]);
    round2 = packageCrates(join(tmp, 'ws3'), [
      { name: 'a', vers: '0.1.1' },
      { name: 'newbie', vers: '0.1.0', deps: { a: '0.1' } },
    ]);
    // The no-marker `dl` form: cargo (and the mirror) fetch <dl>/{crate}/{version}/download.
    up.init(`${upServer.url}/dl`);
    up.publish([...ws1, ...ws2], { yanked: ['Bc@0.0.9'] });
    up.commit('round 1');
  });
  afterAll(async () => {
    await upServer?.close();
    await mirrorServer?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const sync = (upstream: string, target: string, ...extra: string[]) =>
    runCli(['sync', 'crates', upstream, target, '--base-url', `${mirrorServer.url}/`, '--no-progress', '--log-format', 'json', ...extra]);

  it('mirrors a registry that cargo fetch can use, then mirrors only the delta', async () => {
    const first = await sync(`${upServer.url}/index/.git`, dest);
    expect(first.code, first.stderr).toBe(0);
    for (const f of [
      'crates/a/a-0.1.0.crate',
      'crates/Bc/Bc-0.1.0.crate',
      'crates/Bc/Bc-0.0.9.crate', // yanked: mirrored by default
      'crates/c_d/c_d-0.1.0.crate',
      'crates/c_d/c_d-0.1.1.crate',
      'crates/my-Crate/my-Crate-0.1.0.crate',
      'index/1/a',
      'index/2/bc',
      'index/3/c/c_d',
      'index/my/-c/my-crate',
      'index/go/ne/gone_soon',
      '.mirror/crates-index.git/info/refs',
    ]) {
      expect(existsSync(join(dest, f)), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(dest, 'index/config.json'), 'utf8'))).toEqual({
      dl: `${mirrorServer.url}/crates/{crate}/{crate}-{version}.crate`,
    });
    expect(readFileSync(join(dest, 'index/2/bc'), 'utf8')).toBe(readFileSync(join(up.indexDir, '2/bc'), 'utf8'));
    expect(crateDownloads(upServer.requests)).toHaveLength(7);

    const project = join(tmp, 'consumer');
    const { env } = cargoProject(project, { 'my-Crate': '0.1', c_d: '0.1', gone_soon: '1' }, `sparse+${mirrorServer.url}/index/`);
    const fetch1 = await cargoFetch(project, env);
    expect(fetch1.code, fetch1.output).toBe(0);
    const lock = readFileSync(join(project, 'Cargo.lock'), 'utf8');
    expect(lock).toContain('name = "c_d"\nversion = "0.1.1"');
    expect(lock).toContain('name = "Bc"\nversion = "0.1.0"');
    expect(mirrorServer.requests).toContain('/crates/my-Crate/my-Crate-0.1.0.crate');

    // No change upstream: nothing downloaded.
    const before = upServer.requests.length;
    const noop = await sync(`${upServer.url}/index/.git`, dest);
    expect(noop.code, noop.stderr).toBe(0);
    expect(crateDownloads(upServer.requests.slice(before))).toEqual([]);

    // A day upstream: new versions and a new crate, the locked c_d 0.1.1 yanked, a crate deleted.
    up.publish(round2);
    up.yank('c_d', '0.1.1');
    up.remove('gone_soon');
    up.commit('round 2');
    const mark = upServer.requests.length;
    // A tiny registry: 2 of 16 files is above the default --max-delete of 10%.
    const second = await sync(`${upServer.url}/index/.git`, dest, '--max-delete', '50%');
    expect(second.code, second.stderr).toBe(0);
    expect(crateDownloads(upServer.requests.slice(mark))).toEqual(['/dl/a/0.1.1/download', '/dl/newbie/0.1.0/download']);
    expect(existsSync(join(dest, 'crates/gone_soon/gone_soon-1.0.0.crate'))).toBe(false);
    expect(existsSync(join(dest, 'index/go/ne/gone_soon'))).toBe(false);
    expect(existsSync(join(dest, 'crates/c_d/c_d-0.1.1.crate'))).toBe(true);
    expect(readFileSync(join(dest, 'index/3/c/c_d'), 'utf8')).toContain('"vers":"0.1.1","deps":[],"cksum"');
    expect(readFileSync(join(dest, 'index/3/c/c_d'), 'utf8')).toBe(readFileSync(join(up.indexDir, '3/c/c_d'), 'utf8'));

    // The consumer drops the deleted crate, adds the new one; its lockfile keeps yanked c_d 0.1.1.
    writeFileSync(
      join(project, 'Cargo.toml'),
      readFileSync(join(project, 'Cargo.toml'), 'utf8').replace('"gone_soon" = "1"', '"newbie" = "0.1"'),
    );
    const fetch2 = await cargoFetch(project, env);
    expect(fetch2.code, fetch2.output).toBe(0);
    const lock2 = readFileSync(join(project, 'Cargo.lock'), 'utf8');
    expect(lock2).toContain('name = "c_d"\nversion = "0.1.1"');
    expect(lock2).toContain('name = "newbie"');
    expect(lock2).not.toContain('gone_soon');
    expect(round2.map((c) => c.name)).toEqual(['a', 'newbie']);

    // A full rescan of an up-to-date mirror downloads and republishes nothing.
    const mark2 = upServer.requests.length;
    const full = await sync(`${upServer.url}/index/.git`, dest, '--full');
    expect(full.code, full.stderr).toBe(0);
    expect(crateDownloads(upServer.requests.slice(mark2))).toEqual([]);
    expect(full.stderr).toMatch(/"reason":"--full"/);
    expect(lastRun(dest)).toMatchObject({ outcome: 'success', downloaded: 0, published: 0, deleted: 0 });
    // So does a dry run of it, which compares the index files it would write with the live ones.
    const plan = await runCli(['plan', 'crates', `${upServer.url}/index/.git`, dest, '--base-url', `${mirrorServer.url}/`, '--full', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ mode: 'full', download: { files: 0 }, delete: { files: 0 }, publish: { files: 0 } });
  });

  it('refuses a .crate whose bytes do not match cksum: nothing published, exit 1, retried next run', async () => {
    const bad = new UpstreamRegistry(join(up.root, 'bad-up'));
    const crates = packageCrates(join(tmp, 'ws-bad'), [
      { name: 'good', vers: '1.0.0' },
      { name: 'evil', vers: '1.0.0' },
    ]);
    bad.init(`${upServer.url}/bad-up/dl/{crate}/{version}/download`);
    bad.publish(crates, { crateBytes: (c) => (c.name === 'evil' ? Buffer.from('not the packaged crate') : readFileSync(c.file)) });
    bad.commit('tampered');
    const target = join(tmp, 'mirror-bad');
    // A dry run reads the index from a scratch clone: nothing is written under the mirror.
    const plan = await runCli(['plan', 'crates', bad.indexDir, target, '--base-url', `${mirrorServer.url}/`, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/"files":\s*2/);
    expect(existsSync(join(target, '.mirror', 'crates-index.git'))).toBe(false);
    const r = await sync(bad.indexDir, target);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/evil/);
    expect(existsSync(join(target, 'crates/evil/evil-1.0.0.crate'))).toBe(false);
    expect(existsSync(join(target, 'index/config.json'))).toBe(false);
    expect(existsSync(join(target, 'index/ev/il/evil'))).toBe(false);

    // Upstream fixes the file (same index line): the next run retries and completes.
    writeFileSync(join(bad.dlDir, 'evil', '1.0.0', 'download'), readFileSync(crates[1].file));
    const fixed = await sync(bad.indexDir, target);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(existsSync(join(target, 'crates/evil/evil-1.0.0.crate'))).toBe(true);
    expect(existsSync(join(target, 'index/config.json'))).toBe(true);
  });
});
