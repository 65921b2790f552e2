// The crates adapter's discovery against a real git index (local path and dumb HTTP):
// full scan, incremental delta, filters, squashed history, malformed lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { cratesSource } from '../../src/sources/crates/index.js';
import type { DiscoverResult, Entry } from '../../src/sources/types.js';
import { packageCrates, UpstreamRegistry, type PackagedCrate } from '../../fixtures/crates-registry.js';
import { serveDir, type StaticServer } from '../helpers/static-server.js';

interface Run {
  result: DiscoverResult;
  entries: Entry[];
  problems: string[];
  stagingDir: string;
  staged(path: string): string;
}

let tmp: string;
let plans = 0;

async function discover(upstream: string, dest: string, cursor: unknown, options: Record<string, unknown>, dryRun = false): Promise<Run> {
  // Like the engine: a real run stages under <dest>/.mirror/, a dry run outside the mirror.
  if (!dryRun) await mkdir(join(dest, '.mirror'), { recursive: true });
  const stagingDir = dryRun ? join(tmp, `plan-${++plans}`) : await mkdtemp(join(dest, '.mirror', 'staging-'));
  await mkdir(stagingDir, { recursive: true });
  const entries: Entry[] = [];
  const problems: string[] = [];
  const result = await cratesSource.discover(upstream, {
    dest,
    stagingDir,
    dryRun,
    cursor,
    options: { 'base-url': 'https://m.example/', ...options },
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    emit: (e) => entries.push(e),
    reportProblem: (m) => problems.push(m),
    fetchToStaging: () => Promise.reject(new Error('not used')),
  });
  return {
    result,
    entries,
    problems,
    stagingDir,
    staged: (p) => {
      const e = entries.find((x) => x.kind === 'index' && x.path === p);
      if (!e || e.kind !== 'index' || e.stagedFile === undefined) throw new Error(`not staged: ${p}`);
      return readFileSync(e.stagedFile, 'utf8');
    },
  };
}

const paths = (r: Run, kind: Entry['kind']) =>
  r.entries
    .filter((e) => e.kind === kind)
    .map((e) => e.path)
    .sort();

describe('crates discover', () => {
  let up: UpstreamRegistry;
  let round1: PackagedCrate[];
  let round2: PackagedCrate[];
  let server: StaticServer;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'crates-discover-'));
    round1 = packageCrates(join(tmp, 'ws1'), [
      { name: 'a', vers: '0.1.0' },
      { name: 'Bc', vers: '0.1.0', deps: { a: '0.1' } },
      { name: 'c_d', vers: '0.1.0' },
      { name: 'my-Crate', vers: '0.1.0', deps: { Bc: '0.1', c_d: '0.1' } },
    ]);
    round2 = packageCrates(join(tmp, 'ws2'), [
      { name: 'a', vers: '0.1.1' },
      { name: 'newbie', vers: '0.1.0' },
    ]);
    up = new UpstreamRegistry(join(tmp, 'up'));
    up.init('https://dl.example/api/v1/crates');
    up.publish(round1, { yanked: ['c_d@0.1.0'] });
    up.commit('round 1');
  });
  beforeAll(async () => {
    server = await serveDir(join(tmp, 'up'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('scans fully, then emits only the delta, over dumb HTTP', async () => {
    const dest = join(tmp, 'dest-http');
    const url = `${server.url}/index/.git`;
    const r1 = await discover(url, dest, null, {});
    expect(r1.result.mode).toBe('full');
    expect(r1.problems).toEqual([]);
    expect(paths(r1, 'blob')).toEqual([
      'crates/Bc/Bc-0.1.0.crate',
      'crates/a/a-0.1.0.crate',
      'crates/c_d/c_d-0.1.0.crate',
      'crates/my-Crate/my-Crate-0.1.0.crate',
    ]);
    const bc = r1.entries.find((e) => e.path === 'crates/Bc/Bc-0.1.0.crate');
    expect(bc).toMatchObject({ url: 'https://dl.example/api/v1/crates/Bc/0.1.0/download', checksums: { sha256: round1[1].cksum } });
    expect(paths(r1, 'index')).toEqual(['index/1/a', 'index/2/bc', 'index/3/c/c_d', 'index/config.json', 'index/my/-c/my-crate']);
    expect(r1.staged('index/2/bc')).toBe(readFileSync(join(up.indexDir, '2/bc'), 'utf8'));
    expect(JSON.parse(r1.staged('index/config.json'))).toEqual({ dl: 'https://m.example/crates/{crate}/{crate}-{version}.crate' });
    const viaBase = await discover(url, join(tmp, 'dest-base'), null, { 'crates-base': 'https://static.example' });
    expect(viaBase.entries.find((e) => e.path === 'crates/Bc/Bc-0.1.0.crate')).toMatchObject({
      url: 'https://static.example/crates/Bc/Bc-0.1.0.crate',
    });
    const cfg = r1.entries.find((e) => e.path === 'index/config.json');
    expect(cfg).toMatchObject({ stage: 1 });

    // No change upstream: nothing but config.json.
    const r2 = await discover(url, dest, r1.result.cursor, {});
    expect(r2.result.mode).toBe('delta');
    expect(r2.entries.map((e) => e.path)).toEqual(['index/config.json']);

    // New versions, a new crate, a yank, a deletion.
    up.publish(round2);
    up.yank('a', '0.1.0');
    up.remove('my-Crate');
    up.commit('round 2');
    const r3 = await discover(url, dest, r2.result.cursor, {});
    expect(r3.result.mode).toBe('delta');
    expect(paths(r3, 'blob')).toEqual(['crates/a/a-0.1.0.crate', 'crates/a/a-0.1.1.crate', 'crates/newbie/newbie-0.1.0.crate']);
    expect(paths(r3, 'index')).toEqual(['index/1/a', 'index/config.json', 'index/ne/wb/newbie']);
    expect(paths(r3, 'drop')).toEqual(['crates/my-Crate/my-Crate-0.1.0.crate', 'index/my/-c/my-crate']);
    expect(JSON.parse(r3.staged('index/1/a').split('\n')[0])).toMatchObject({ vers: '0.1.0', yanked: true });
  });

  it('sizes index files instead of staging them in a dry run, and writes nothing under the mirror', async () => {
    const real = await discover(up.indexDir, join(tmp, 'dest-real'), null, { sidecars: true });
    const dest = join(tmp, 'dest-dry');
    const dry = await discover(up.indexDir, dest, null, { sidecars: true }, true);
    expect(dry.result).toEqual(real.result);
    expect(dry.entries.map((e) => `${e.kind} ${e.path}`).sort()).toEqual(real.entries.map((e) => `${e.kind} ${e.path}`).sort());
    const indexes = dry.entries.filter((e) => e.kind === 'index');
    expect(indexes.length).toBeGreaterThan(0);
    for (const e of indexes) {
      expect(e.stagedFile).toBeUndefined();
      expect(e.size).toBe(Buffer.byteLength(real.staged(e.path)));
    }
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(dry.stagingDir)).toEqual(['crates-index.git']);
  });

  it('applies filters to the published index and drops newly yanked versions with --exclude-yanked', async () => {
    const dest = join(tmp, 'dest-filter');
    const opts = { 'exclude-yanked': true, include: ['*c*', 'a'], exclude: ['my-*'], sidecars: true };
    const r1 = await discover(up.indexDir, dest, null, opts);
    expect(paths(r1, 'blob')).toEqual(['crates/Bc/Bc-0.1.0.crate', 'crates/a/a-0.1.1.crate']);
    expect(r1.staged('index/1/a').trim().split('\n').map((l) => JSON.parse(l).vers)).toEqual(['0.1.1']);
    expect(JSON.parse(r1.staged('crates/a/a-0.1.1.crate.json'))).toMatchObject({
      name: 'a',
      vers: '0.1.1',
      crate_file: 'crates/a/a-0.1.1.crate',
      crate_url: 'https://m.example/crates/a/a-0.1.1.crate',
      index_path: 'index/1/a',
    });
    up.yank('a', '0.1.1');
    up.commit('yank a 0.1.1');
    const r2 = await discover(up.indexDir, dest, r1.result.cursor, opts);
    expect(r2.result.mode).toBe('delta');
    expect(paths(r2, 'drop')).toEqual(['crates/a/a-0.1.1.crate', 'crates/a/a-0.1.1.crate.json', 'index/1/a']);
    // Changed options: full scan.
    const r3 = await discover(up.indexDir, dest, r2.result.cursor, { ...opts, 'exclude-yanked': false });
    expect(r3.result.mode).toBe('full');
  });

  it('diffs across a squashed history, reports malformed lines, rescans fully with --limit', async () => {
    const dest = join(tmp, 'dest-squash');
    const r1 = await discover(up.indexDir, dest, null, {});
    up.appendRaw('newbie', '{"name":"newbie","vers":"0.2.0"}\nnot json\n');
    up.squash();
    const r2 = await discover(up.indexDir, dest, r1.result.cursor, {});
    expect(r2.result.mode).toBe('delta');
    expect(paths(r2, 'index')).toEqual(['index/config.json', 'index/ne/wb/newbie']);
    expect(paths(r2, 'blob')).toEqual(['crates/newbie/newbie-0.1.0.crate']);
    expect(r2.problems).toEqual([
      'crates: index file ne/wb/newbie line 2: bad or missing "cksum"',
      'crates: index file ne/wb/newbie line 3: not valid JSON',
    ]);
    expect(r2.staged('index/ne/wb/newbie').trim().split('\n')).toHaveLength(1);
    const r3 = await discover(up.indexDir, dest, r2.result.cursor, { limit: 2 });
    expect(r3.result.mode).toBe('full');
    expect(paths(r3, 'blob')).toHaveLength(2);
  });
});
