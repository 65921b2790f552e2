// `mirror verify`: an integrity audit of the mirror against the state DB, in fixed steps:
//   1. database   — PRAGMA quick_check of the state DB;
//   2. stat       — every present (or earlier found missing) file: on disk? size as recorded?
//                   mtime as recorded?
//   3. hash       — re-hash (worker threads): every file with --hash, else only those whose
//                   mtime changed; compare with the recorded sha256;
//   4. unexpected — files under <dest> that the DB does not know (listed, never deleted);
//   5. repair     — with --repair: re-download missing/corrupt blobs through the fetch stage.
// Missing and corrupt files are marked 'missing' in the DB, so the next sync fetches them too.
import { lstatSync, opendirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { StateDb } from '../state/db.js';
import { Downloader } from '../http/downloader.js';
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
  userAgent: string;
  concurrency: number | 'auto';
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

export async function verifyMirror(o: VerifyOptions): Promise<VerifyReport> {
  const { raw } = o.state;
  const problems: VerifyProblem[] = [];
  const steps: VerifyStep[] = [];
  const bad = new Map<string, VerifyProblem>();
  const note = (p: VerifyProblem) => {
    problems.push(p);
    if (p.kind !== 'unexpected' && p.kind !== 'database') bad.set(p.path, p);
  };

  // 1. database
  const check = raw.pragma('quick_check', { simple: true }) as string;
  if (check !== 'ok') note({ kind: 'database', path: o.layout.statePath, detail: check });
  steps.push({ name: 'database', checked: 1, problems: check === 'ok' ? 0 : 1 });

  // 2. stat
  const tree = new SafeTree(o.layout.dest);
  const page = raw.prepare(
    `SELECT path, state, role, url, present_size, present_mtime_ms, present_sha256, checksums FROM files
     WHERE state IN ('present', 'missing') AND path > ? ORDER BY path LIMIT ${PAGE}`,
  );
  const toHash: PresentRow[] = [];
  let statChecked = 0;
  const statProblemsBefore = problems.length;
  const total = raw.prepare(`SELECT count(*) FROM files WHERE state IN ('present', 'missing')`).pluck().get() as number;
  let progressDone = 0;
  let progressBytes = 0;
  const progress = startProgress('verify', () => ({ done: progressDone, total, bytes: progressBytes, totalBytes: 0, failed: bad.size }), {
    enabled: o.progress,
    log: o.log,
  });
  try {
    let last = '';
    for (;;) {
      const rows = page.all(last) as PresentRow[];
      if (rows.length === 0 || o.signal.aborted) break;
      last = rows[rows.length - 1].path;
      for (const row of rows) {
        statChecked++;
        progressDone++;
        const abs = join(o.layout.dest, row.path);
        let st;
        try {
          if (!tree.parentsAreSafe(row.path)) throw Object.assign(new Error('parent missing or not a directory'), { code: 'ENOENT' });
          st = lstatSync(abs);
        } catch (err) {
          note({ kind: 'missing', path: row.path, detail: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not on disk' : (err as Error).message });
          continue;
        }
        if (!st.isFile()) {
          note({ kind: 'missing', path: row.path, detail: 'not a regular file' });
        } else if (st.size !== row.present_size) {
          note({ kind: 'size', path: row.path, detail: `size ${st.size}, expected ${row.present_size}` });
        } else if (o.hashAll || row.state === 'missing' || Math.floor(st.mtimeMs) !== row.present_mtime_ms) {
          toHash.push(row);
        }
      }
    }
    steps.push({ name: 'stat', checked: statChecked, problems: problems.length - statProblemsBefore });

    // 3. hash
    progressDone = 0;
    const hashProblemsBefore = problems.length;
    const pool = new HashPool();
    const verifiedNow: string[] = [];
    try {
      const inFlight = new Set<Promise<void>>();
      for (const row of toHash) {
        if (o.signal.aborted) break;
        while (inFlight.size >= pool.capacity) await Promise.race(inFlight);
        const task = pool
          .hash(join(o.layout.dest, row.path))
          .then(
            (h) => {
              progressBytes += h.size;
              const expected = row.present_sha256 ?? parseChecksums(row.checksums).sha256;
              if (expected && h.sha256 !== expected) note({ kind: 'corrupt', path: row.path, detail: `sha256 ${h.sha256}, expected ${expected}` });
              else verifiedNow.push(row.path);
            },
            (err: Error) => note({ kind: 'unreadable', path: row.path, detail: err.message }),
          )
          .finally(() => {
            progressDone++;
            inFlight.delete(task);
          });
        inFlight.add(task);
      }
      await Promise.all(inFlight);
    } finally {
      await pool.close();
    }
    steps.push({ name: 'hash', checked: toHash.length, problems: problems.length - hashProblemsBefore });
    const stamp = raw.prepare(`UPDATE files SET verified_at = ?, state = 'present', error = NULL WHERE path = ?`);
    const now = Date.now();
    raw.transaction(() => {
      for (const path of verifiedNow) stamp.run(now, path);
    })();

    // 4. unexpected
    const unexpectedBefore = problems.length;
    const known = raw.prepare(`SELECT 1 FROM files WHERE path = ?`).pluck();
    let walked = 0;
    for (const rel of walkFiles(o.layout.dest)) {
      walked++;
      if (!known.get(rel)) note({ kind: 'unexpected', path: rel, detail: 'on disk but not in the state DB' });
    }
    steps.push({ name: 'unexpected', checked: walked, problems: problems.length - unexpectedBefore });
  } finally {
    progress.stop();
  }

  // Record what is wrong so the next sync (or --repair) fetches it again.
  const markMissing = raw.prepare(`UPDATE files SET state = 'missing', error = ? WHERE path = ?`);
  raw.transaction(() => {
    for (const p of bad.values()) markMissing.run(`${p.kind}: ${p.detail}`, p.path);
  })();

  // 5. repair
  if (o.repair) {
    const repaired = await repair(o, [...bad.keys()]);
    steps.push({ name: 'repair', checked: bad.size, problems: bad.size - repaired, repaired });
  }
  const unresolved = o.repair ? steps[steps.length - 1].problems : bad.size;
  const ok = unresolved === 0 && !problems.some((p) => p.kind === 'database' || p.kind === 'unexpected');
  return { ok, steps, problems };
}

async function repair(o: VerifyOptions, paths: string[]): Promise<number> {
  if (paths.length === 0) return 0;
  const { raw } = o.state;
  createTodoTable(raw);
  const add = raw.prepare(
    `INSERT INTO temp.todo (path, url, size, checksums) SELECT path, url, size, checksums FROM files
     WHERE path = ? AND role = 'blob' AND url IS NOT NULL`,
  );
  raw.transaction(() => {
    for (const path of paths) add.run(path);
  })();
  const notRepairable = paths.length - (raw.prepare(`SELECT count(*) FROM temp.todo`).pluck().get() as number);
  if (notRepairable > 0) o.log.warn(`${notRepairable} index file(s) cannot be re-downloaded; the next 'mirror sync' republishes them`);
  const runId = Number(
    raw.prepare(`INSERT INTO runs (source, upstream, started_at) VALUES ('verify', 'repair', ?)`).run(Date.now()).lastInsertRowid,
  );
  const source = (raw.prepare(`SELECT source FROM files WHERE path = ?`).pluck().get(paths[0]) as string) ?? 'unknown';
  const downloader = new Downloader({ concurrency: o.concurrency, userAgent: o.userAgent, log: o.log, signal: o.signal });
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

