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
import type { StateDb } from '../state/db.js';
import { newDownloader, type NetworkOptions } from './network.js';
import { HashPool } from './hash-pool.js';
import { createTodoTable, fetchAll } from './fetch.js';
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

interface PresentRow {
  path: string;
  state: string;
  role: string;
  url: string | null;
  present_size: number | null;
  present_mtime_ms: number | null;
  present_sha256: string | null;
  checksums: string;
}

const PAGE = 5000;
/** Problems listed one by one in the report; beyond that they are only counted (bounded memory). */
const MAX_LISTED = 10_000;

export async function verifyMirror(o: VerifyOptions): Promise<VerifyReport> {
  const { raw } = o.state;
  const problems: VerifyProblem[] = [];
  const count: Record<ProblemKind, number> = { missing: 0, size: 0, corrupt: 0, unexpected: 0, unreadable: 0, database: 0 };
  const markMissing = raw.prepare(`UPDATE files SET state = 'missing', error = ? WHERE path = ?`);
  const stamp = raw.prepare(`UPDATE files SET verified_at = ?, state = 'present', error = NULL WHERE path = ?`);
  // Problems and verified paths of the current page, written to the DB once the page is done.
  let pageBad: VerifyProblem[] = [];
  let pageGood: string[] = [];
  const note = (p: VerifyProblem) => {
    count[p.kind]++;
    if (problems.length < MAX_LISTED) problems.push(p);
    if (p.kind !== 'unexpected' && p.kind !== 'database') pageBad.push(p);
  };
  const flushPage = () => {
    const now = Date.now();
    raw.transaction(() => {
      for (const p of pageBad) markMissing.run(`${p.kind}: ${p.detail}`, p.path);
      for (const path of pageGood) stamp.run(now, path);
    })();
    pageBad = [];
    pageGood = [];
  };

  // 1. database
  const check = raw.pragma('quick_check', { simple: true }) as string;
  if (check !== 'ok') note({ kind: 'database', path: o.layout.statePath, detail: check });
  const steps: VerifyStep[] = [{ name: 'database', checked: 1, problems: count.database }];

  // 2. stat and 3. hash, page by page: each page's suspects are re-hashed before the next page.
  const tree = new SafeTree(o.layout.dest);
  const page = raw.prepare(
    `SELECT path, state, role, url, present_size, present_mtime_ms, present_sha256, checksums FROM files
     WHERE state IN ('present', 'missing') AND path > ? ORDER BY path LIMIT ${PAGE}`,
  );
  const total = raw.prepare(`SELECT count(*) FROM files WHERE state IN ('present', 'missing')`).pluck().get() as number;
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
      const rows = page.all(last) as PresentRow[];
      if (rows.length === 0 || o.signal.aborted) break;
      last = rows[rows.length - 1].path;
      const suspects: PresentRow[] = [];
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
        else if (st.size !== row.present_size) note({ kind: 'size', path: row.path, detail: `size ${st.size}, expected ${row.present_size}` });
        else if (o.hashAll || row.state === 'missing' || Math.floor(st.mtimeMs) !== row.present_mtime_ms) suspects.push(row);
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
              const expected = row.present_sha256 ?? parseChecksums(row.checksums).sha256;
              if (expected && h.sha256 !== expected) note({ kind: 'corrupt', path: row.path, detail: `sha256 ${h.sha256}, expected ${expected}` });
              else pageGood.push(row.path);
            },
            (err: Error) => note({ kind: 'unreadable', path: row.path, detail: err.message }),
          )
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
      }
      await Promise.all(inFlight);
      flushPage();
    }
    steps.push({ name: 'stat', checked: statChecked, problems: count.missing + count.size });
    steps.push({ name: 'hash', checked: hashChecked, problems: count.corrupt + count.unreadable });

    // 4. unexpected
    const known = raw.prepare(`SELECT 1 FROM files WHERE path = ?`).pluck();
    let walked = 0;
    for (const rel of walkFiles(o.layout.dest)) {
      if (o.signal.aborted) break;
      walked++;
      if (!known.get(rel)) note({ kind: 'unexpected', path: rel, detail: 'on disk but not in the state DB' });
    }
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
  const { raw } = o.state;
  const broken = raw.prepare(`SELECT count(*) FROM files WHERE state != 'present' AND state = 'missing'`).pluck().get() as number;
  if (broken === 0) return 0;
  createTodoTable(raw);
  raw.exec(`INSERT INTO temp.todo (path, url, size, checksums) SELECT path, url, size, checksums FROM files
            WHERE state != 'present' AND state = 'missing' AND role = 'blob' AND url IS NOT NULL`);
  const notRepairable = broken - (raw.prepare(`SELECT count(*) FROM temp.todo`).pluck().get() as number);
  if (notRepairable > 0) o.log.warn(`${notRepairable} index file(s) cannot be re-downloaded; the next 'mirror sync' republishes them`);
  const runId = Number(
    raw.prepare(`INSERT INTO runs (command, source, upstream, started_at) VALUES ('repair', 'verify', 'repair', ?)`).run(Date.now()).lastInsertRowid,
  );
  const source = (raw.prepare(`SELECT source FROM files WHERE state != 'present' AND state = 'missing' LIMIT 1`).pluck().get() as string) ?? 'unknown';
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
    raw
      .prepare(`UPDATE runs SET ended_at = ?, outcome = ?, downloaded = ?, failed = ?, bytes = ? WHERE id = ?`)
      .run(Date.now(), counts.failed ? 'failed' : 'success', counts.downloaded, counts.failed, counts.bytes, runId);
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

