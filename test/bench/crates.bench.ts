// crates benchmark at real scale: a synthetic crates.io git index (200,000 crate files,
// 2,000,000 version lines, see crates-corpus.ts), cached under .bench/crates/.
//
// Measures (each a child process under /usr/bin/time: wall time and peak RSS):
//   1. first full plan:   `mirror plan crates` on an empty mirror (clone, full scan, diff into the DB)
//   2. no-op rerun:       `mirror sync crates` with upstream unchanged
//   3. a typical day:     `mirror plan crates` after upstream moved to the day-1 commit
//                         (3,000 changed crate files, 5,000 new versions)
// Between 1 and 2 the mirror is put in the state a completed first sync leaves (pre-seeded:
// the adapter's full scan through the engine's discover stage, every .crate recorded present in
// the state DB, the cursor stored), because 2,000,000 downloads are not what is measured.
// Baselines from the same run: the git CLI reading every index blob (`git ls-tree -r |
// git cat-file --batch`), and isomorphic-git reading blobs and diffing the two trees.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import git from 'isomorphic-git';
import pino from 'pino';
import { buildCorpus, REAL_SCALE, type Corpus } from './crates-corpus.js';
import { cacheDir, MIRROR_BIN, ratio, timedOk, type Timed } from './bench-util.js';
import { openStateDb } from '../../src/state/db.js';
import { sqliteHandle } from '../../src/state/sqlite/index.js';
import { discover } from '../../src/engine/discover.js';
import { Downloader } from '../../src/http/downloader.js';
import { cratesSource } from '../../src/sources/crates/index.js';
import { catFile, treeBlobs } from '../../src/sources/crates/git.js';

const out = (s: string) => process.stdout.write(s + '\n');
const root = cacheDir('crates');
const corpus = await buildCorpus(join(root, 'corpus'), REAL_SCALE, out);
const BASE_URL = 'https://mirror.example/';
const upstream = corpus.repo;

function setMaster(c: Corpus, commit: string): void {
  execFileSync('git', ['--git-dir', c.repo, 'update-ref', 'refs/heads/master', commit]);
}

function line(name: string, t: Timed, extra = ''): string {
  return `${name.padEnd(44)} ${t.seconds.toFixed(2).padStart(7)} s   peak RSS ${t.maxRssMb.toFixed(0).padStart(4)} MB${extra}`;
}

/** Puts `dest` in the state a completed full sync of the current upstream leaves. */
async function seed(dest: string): Promise<void> {
  fs.rmSync(dest, { recursive: true, force: true });
  const priv = join(dest, '.mirror');
  const stagingDir = join(priv, 'staging');
  fs.mkdirSync(stagingDir, { recursive: true });
  const state = await openStateDb(join(priv, 'state.db'));
  const log = pino({ level: 'warn' });
  const downloader = new Downloader({ concurrency: 1, userAgent: 'bench', log });
  try {
    const found = await discover({
      source: cratesSource,
      upstream,
      state,
      stagingDir,
      dest,
      cursor: null,
      options: { 'base-url': BASE_URL },
      downloader,
      log,
      signal: new AbortController().signal,
    });
    sqliteHandle(state).exec(`
      INSERT INTO files (path, source, role, url, size, checksums, stage, state, present_size, present_mtime_ms, updated_run)
        SELECT path, 'crates', 'blob', url, 2048, checksums, NULL, 'present', 2048, 0, 0 FROM temp.incoming WHERE kind = 'blob';
      INSERT INTO files (path, source, role, url, size, checksums, stage, state, present_size, present_mtime_ms, updated_run)
        SELECT path, 'crates', 'index', NULL, size, '{}', stage, 'present', size, 0, 0 FROM temp.incoming WHERE kind = 'index';`);
    sqliteHandle(state)
      .prepare(`INSERT INTO cursors (source, value, updated_at) VALUES (?, ?, ?)`)
      .run(`crates ${upstream}`, JSON.stringify(found.result.cursor), Date.now());
  } finally {
    await downloader.close();
    await state.close();
    fs.rmSync(stagingDir, { recursive: true, force: true });
  }
}

/**
 * The adapter alone, in this process: discover with a ctx that only counts what it emits. A dry
 * run stages outside the mirror, as `mirror plan` does.
 */
async function adapterOnly(dest: string, cursor: unknown, dryRun = false): Promise<{ seconds: number; entries: number; cursor: unknown }> {
  const stagingDir = dryRun ? join(root, `plan-staging-bench-${Date.now()}`) : join(dest, '.mirror', `staging-bench-${Date.now()}`);
  fs.mkdirSync(stagingDir, { recursive: true });
  let entries = 0;
  const t = performance.now();
  const r = await cratesSource.discover(upstream, {
    dest,
    stagingDir,
    dryRun,
    cursor,
    options: { 'base-url': BASE_URL },
    log: pino({ level: 'warn' }),
    signal: new AbortController().signal,
    emit: () => void entries++,
    reportProblem: (m) => {
      throw new Error(m);
    },
    fetchToStaging: () => Promise.reject(new Error('not used')),
  });
  const seconds = (performance.now() - t) / 1000;
  fs.rmSync(stagingDir, { recursive: true, force: true });
  return { seconds, entries, cursor: r.cursor };
}

function cursorOf(dest: string): unknown {
  const db = new Database(join(dest, '.mirror', 'state.db'), { readonly: true });
  try {
    return JSON.parse(db.prepare('SELECT value FROM cursors').pluck().get() as string);
  } finally {
    db.close();
  }
}

/** Baseline: the git CLI streaming every index blob of a commit (the floor of a full scan). */
function gitCliFullRead(commit: string): number {
  const t = performance.now();
  const r = spawnSync('sh', ['-c', `git --git-dir "$0" ls-tree -r ${commit} | cut -d' ' -f3 | cut -f1 | git --git-dir "$0" cat-file --batch | wc -c`, upstream], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return (performance.now() - t) / 1000;
}

/** isomorphic-git vs the git CLI on the same blobs; and the two trees' diff. */
async function isomorphicGitComparison(): Promise<string[]> {
  const oids: string[] = [];
  for await (const f of treeBlobs(upstream, corpus.day0)) if (f.path !== 'config.json' && oids.length < 5000) oids.push(f.oid);
  let t = performance.now();
  let bytes = 0;
  const cache = {};
  for (const oid of oids) bytes += (await git.readBlob({ fs, gitdir: upstream, oid, cache })).blob.length;
  const isoRead = (performance.now() - t) / 1000;
  t = performance.now();
  let cliBytes = 0;
  await catFile(upstream, oids, (_tag, c) => void (cliBytes += c.length));
  const cliRead = (performance.now() - t) / 1000;
  if (cliBytes !== bytes) throw new Error('isomorphic-git and git CLI read different bytes');

  t = performance.now();
  const changed: string[] = await git.walk({
    fs,
    gitdir: upstream,
    cache,
    trees: [git.TREE({ ref: corpus.day0 }), git.TREE({ ref: corpus.day1 })],
    map: async (path, [a, b]) => {
      if (path === '.') return undefined;
      const [ao, bo] = await Promise.all([a?.oid(), b?.oid()]);
      if (ao === bo) return null; // identical subtree or file: prune
      if ((await (a ?? b)!.type()) === 'tree') return undefined;
      return path;
    },
  });
  const isoDiff = (performance.now() - t) / 1000;
  t = performance.now();
  const cliChanged = execFileSync('git', ['--git-dir', upstream, 'diff-tree', '-r', '--name-only', corpus.day0, corpus.day1]).toString().trim().split('\n');
  const cliDiff = (performance.now() - t) / 1000;
  const flat = changed.flat(Infinity).filter(Boolean);
  if (flat.length !== cliChanged.length) throw new Error(`isomorphic-git found ${flat.length} changes, git diff-tree ${cliChanged.length}`);
  return [
    `isomorphic-git readBlob, 5,000 index files      ${isoRead.toFixed(2)} s (${(5000 / isoRead).toFixed(0)} blobs/s)`,
    `git cat-file --batch, same 5,000 files          ${cliRead.toFixed(2)} s (${(5000 / cliRead).toFixed(0)} blobs/s): CLI ${ratio(isoRead, cliRead)} faster`,
    `  -> isomorphic-git full scan of 200,000 files, extrapolated: ${((isoRead / 5000) * 200_000).toFixed(0)} s`,
    `isomorphic-git tree diff day0->day1 (pruned)    ${isoDiff.toFixed(2)} s`,
    `git diff-tree -r day0->day1                     ${cliDiff.toFixed(2)} s: CLI ${ratio(isoDiff, cliDiff)} faster (${cliChanged.length} files)`,
  ];
}

setMaster(corpus, corpus.day0);
try {
  out(`corpus: 200,000 crate files, 2,000,000 versions, ${(corpus.bytes / 1e6).toFixed(0)} MB of index lines (day 0), +3,000 files / +5,000 versions (day 1)`);
  const gitFloor = gitCliFullRead(corpus.day0);

  const planDest = join(root, 'plan-empty');
  fs.rmSync(planDest, { recursive: true, force: true });
  const planArgs = ['crates', upstream, planDest, '--base-url', BASE_URL, '--json', '--log-level', 'warn'];
  const firstPlan = await timedOk('first plan', process.execPath, [MIRROR_BIN, 'plan', ...planArgs]);

  const dest = join(root, 'mirror');
  await seed(dest);
  const syncArgs = ['sync', 'crates', upstream, dest, '--base-url', BASE_URL, '--no-progress', '--log-level', 'warn'];
  const noop = await timedOk('no-op sync', process.execPath, [MIRROR_BIN, ...syncArgs]);

  setMaster(corpus, corpus.day1);
  const dayPlan = await timedOk('day plan', process.execPath, [MIRROR_BIN, 'plan', 'crates', upstream, dest, '--base-url', BASE_URL, '--json', '--log-level', 'warn']);
  const day = JSON.parse(dayPlan.stdout) as { plan?: { download?: { files?: number } }; download?: { files?: number } };
  const dayDownloads = day.plan?.download?.files ?? day.download?.files;
  setMaster(corpus, corpus.day0);

  // The adapter's own share (the CLI numbers above include the engine's and ops' run overhead).
  const cursor0 = cursorOf(dest);
  const aNoop = await adapterOnly(dest, cursor0);
  setMaster(corpus, corpus.day1);
  const aDay = await adapterOnly(dest, cursor0);
  setMaster(corpus, corpus.day0);
  const fresh = join(root, 'adapter-only');
  fs.rmSync(fresh, { recursive: true, force: true });
  const aFull = await adapterOnly(fresh, null);
  fs.rmSync(fresh, { recursive: true, force: true });
  const aFullDry = await adapterOnly(fresh, null, true);
  const iso = await isomorphicGitComparison();
  out('');
  out(`baseline: git ls-tree | git cat-file --batch, all index blobs  ${gitFloor.toFixed(2)} s`);
  out(line('first full plan (mirror plan, empty mirror)', firstPlan, `   ${ratio(firstPlan.seconds, gitFloor)} the git read floor   target <= 30 s`));
  out(line('no-op rerun (mirror sync, upstream unchanged)', noop, `   ${ratio(noop.seconds, gitFloor)} the git read floor   target <= 1 s`));
  out(line('a typical day (mirror plan)', dayPlan, `   ${ratio(dayPlan.seconds, gitFloor)} the git read floor   target <= 2 s; ${dayDownloads} downloads planned`));
  out('peak RSS target <= 300 MB for each');
  out(`adapter alone (discover, in process): full scan ${aFull.seconds.toFixed(2)} s (${aFull.entries} entries, 200,001 staged index files), no-op ${aNoop.seconds.toFixed(2)} s (${aNoop.entries} entries), day ${aDay.seconds.toFixed(2)} s (${aDay.entries} entries)`);
  out(`adapter alone, dry run (as in mirror plan): full scan ${aFullDry.seconds.toFixed(2)} s (${aFullDry.entries} entries, nothing staged), ${ratio(aFullDry.seconds, gitFloor)} the git read floor`);
  out('');
  for (const l of iso) out(l);
} finally {
  setMaster(corpus, corpus.day0);
}
