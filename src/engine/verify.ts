// `mirror verify`: an integrity audit of the mirror against the state DB, in fixed steps:
//   1. database   — PRAGMA quick_check of the state DB;
//   2. stat       — every present (or earlier found missing) file: on disk? size as recorded?
//                   mtime as recorded?
//   3. hash       — re-hash (worker threads): every file with --hash, else only those whose
//                   mtime changed; compare with the recorded sha256 (done page by page after
//                   each page's stat, so memory stays bounded; reported as its own step);
//   4. unexpected — files under <dest> that the DB does not know (listed, never deleted);
//   5. repair     — with --repair: re-download missing/corrupt blobs through the fetch stage.
// Missing and corrupt files are marked 'missing' in the DB, so the next sync fetches them too.
import { lstatSync, opendirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditRow, StateDb } from '../state/types.js';
import { newDownloader, type NetworkOptions } from './network.js';
import { HashPool } from './hash-pool.js';
import { fetchAll } from './fetch.js';
import { RunEvents } from './events.js';
import { SafeTree, PRIVATE_DIR } from './safe-path.js';
import { parseChecksums } from './checksums.js';
import { startProgress } from './progress.js';
import type { Layout } from './layout.js';

export type ProblemKind = 'missing' | 'size' | 'corrupt' | 'unexpected' | 'unreadable' | 'database';

export interface VerifyProblem {
  kind: ProblemKind;
  path: string;
  detail: string;
}

export interface VerifyStep {
  name: 'database' | 'stat' | 'hash' | 'unexpected' | 'repair';
  checked: number;
  problems: number;
  repaired?: number;
}

export interface VerifyReport {
  ok: boolean;
  steps: VerifyStep[];
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  state: StateDb;
  layout: Layout;
  hashAll: boolean;
  repair: boolean;
  log: Logger;
  progress: boolean;
  signal: AbortSignal;
  /** How repair downloads. */
  network: NetworkOptions;
}

const PAGE = 5000;
/** Problems listed one by one in the report; beyond that they are only counted (bounded memory). */
const MAX_LISTED = 10_000;

export async function verifyMirror(o: VerifyOptions): Promise<VerifyReport> {
  const { files } = o.state;
  const problems: VerifyProblem[] = [];
  const count: Record<ProblemKind, number> = { missing: 0, size: 0, corrupt: 0, unexpected: 0, unreadable: 0, database: 0 };
  // Problems and verified paths of the current page, written to the DB once the page is done.
  let pageBad: VerifyProblem[] = [];
  let pageGood: string[] = [];
  const note = (p: VerifyProblem) => {
    count[p.kind]++;
    if (problems.length < MAX_LISTED) problems.push(p);
    if (p.kind !== 'unexpected' && p.kind !== 'database') pageBad.push(p);
  };
  const flushPage = async () => {
    await files.recordAudit({ missing: pageBad.map((p) => ({ path: p.path, error: `${p.kind}: ${p.detail}` })), verified: pageGood, at: Date.now() });
    pageBad = [];
    pageGood = [];
  };

  // 1. database
  const check = await o.state.integrityCheck();
  if (check !== 'ok') note({ kind: 'database', path: o.layout.statePath, detail: check });
  const steps: VerifyStep[] = [{ name: 'database', checked: 1, problems: count.database }];

  // 2. stat and 3. hash, page by page: each page's suspects are re-hashed before the next page.
  const tree = new SafeTree(o.layout.dest);
  const total = await files.auditCount();
  let statChecked = 0;
  let hashChecked = 0;
  let progressBytes = 0;
  const progress = startProgress('verify', () => ({ done: statChecked, total, bytes: progressBytes, totalBytes: 0, failed: count.missing + count.size + count.corrupt }), {
    enabled: o.progress,
    log: o.log,
  });
  const pool = new HashPool();
  try {
    let last = '';
    for (;;) {
      const rows = await files.auditPage(last, PAGE);
      if (rows.length === 0 || o.signal.aborted) break;
      last = rows[rows.length - 1].path;
      const suspects: AuditRow[] = [];
      for (const row of rows) {
        statChecked++;
        let st;
        try {
          if (!tree.parentsAreSafe(row.path)) throw Object.assign(new Error('parent missing or not a directory'), { code: 'ENOENT' });
          st = lstatSync(join(o.layout.dest, row.path));
        } catch (err) {
          note({ kind: 'missing', path: row.path, detail: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not on disk' : (err as Error).message });
          continue;
        }
        if (!st.isFile()) note({ kind: 'missing', path: row.path, detail: 'not a regular file' });
        else if (st.size !== row.presentSize) note({ kind: 'size', path: row.path, detail: `size ${st.size}, expected ${row.presentSize}` });
        else if (o.hashAll || row.state === 'missing' || Math.floor(st.mtimeMs) !== row.presentMtimeMs) suspects.push(row);
      }
      const inFlight = new Set<Promise<void>>();
      for (const row of suspects) {
        if (o.signal.aborted) break;
        while (inFlight.size >= pool.capacity) await Promise.race(inFlight);
        hashChecked++;
        const task = pool
          .hash(join(o.layout.dest, row.path))
          .then(
            (h) => {
              progressBytes += h.size;
              const expected = row.presentSha256 ?? parseChecksums(row.checksums).sha256;
              if (expected && h.sha256 !== expected) note({ kind: 'corrupt', path: row.path, detail: `sha256 ${h.sha256}, expected ${expected}` });
              else pageGood.push(row.path);
            },
            (err: Error) => note({ kind: 'unreadable', path: row.path, detail: err.message }),
          )
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
      }
      await Promise.all(inFlight);
      await flushPage();
    }
    steps.push({ name: 'stat', checked: statChecked, problems: count.missing + count.size });
    steps.push({ name: 'hash', checked: hashChecked, problems: count.corrupt + count.unreadable });

    // 4. unexpected
    let walked = 0;
    let walkedPage: string[] = [];
    const checkWalked = async () => {
      const known = await files.known(walkedPage);
      for (const rel of walkedPage) if (!known.has(rel)) note({ kind: 'unexpected', path: rel, detail: 'on disk but not in the state DB' });
      walkedPage = [];
    };
    for (const rel of walkFiles(o.layout.dest)) {
      if (o.signal.aborted) break;
      walked++;
      walkedPage.push(rel);
      if (walkedPage.length >= PAGE) await checkWalked();
    }
    await checkWalked();
    steps.push({ name: 'unexpected', checked: walked, problems: count.unexpected });
  } finally {
    progress.stop();
    await pool.close();
  }

  // 5. repair: every file the DB now knows to be missing or corrupt (marked 'missing').
  const broken = count.missing + count.size + count.corrupt + count.unreadable;
  if (o.repair) {
    const repaired = await repair(o);
    steps.push({ name: 'repair', checked: broken, problems: broken - repaired, repaired });
  }
  const unresolved = o.repair ? steps[steps.length - 1].problems : broken;
  const ok = unresolved === 0 && count.database === 0 && count.unexpected === 0;
  return { ok, steps, problems };
}

async function repair(o: VerifyOptions): Promise<number> {
  const broken = await o.state.files.missingCount();
  if (broken === 0) return 0;
  const { todo } = o.state.work;
  await todo.reset();
  const notRepairable = broken - (await todo.fillWithMissing());
  if (notRepairable > 0) o.log.warn(`${notRepairable} index file(s) cannot be re-downloaded; the next 'mirror sync' republishes them`);
  const runId = await o.state.runs.start({ command: 'repair', source: 'verify', upstream: 'repair', startedAt: Date.now() });
  const source = (await o.state.files.missingSource()) ?? 'unknown';
  const downloader = newDownloader(o.network, { log: o.log, signal: o.signal });
  try {
    const counts = await fetchAll({
      state: o.state,
      tree: new SafeTree(o.layout.dest),
      tmpDir: o.layout.tmpDir,
      downloader,
      source,
      runId,
      log: o.log,
      signal: o.signal,
      events: new RunEvents(),
      deferTreeConflicts: false,
    });
    await o.state.runs.finish(runId, {
      endedAt: Date.now(),
      outcome: counts.failed ? 'failed' : 'success',
      downloaded: counts.downloaded,
      kept: 0,
      deleted: 0,
      failed: counts.failed,
      published: 0,
      rejected: 0,
      bytes: counts.bytes,
      error: null,
    });
    return counts.downloaded;
  } finally {
    await downloader.close();
  }
}

/** Every regular file or symlink under root (relative paths), skipping the private dir. */
function* walkFiles(root: string, rel = ''): Generator<string> {
  const dir = opendirSync(rel ? join(root, rel) : root);
  try {
    for (let entry = dir.readSync(); entry; entry = dir.readSync()) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (!rel && entry.name === PRIVATE_DIR) continue;
      if (entry.isDirectory()) yield* walkFiles(root, path);
      else yield path;
    }
  } finally {
    dir.closeSync();
  }
}

