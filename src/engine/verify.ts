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
import type { AuditRow, FilesTable } from '../state/types.js';
import { EXIT_FAILURES, EXIT_OK } from '../errors.js';
import { newDownloader, type NetworkOptions } from './network.js';
import { HashPool } from './hash-pool.js';
import { fetchAll } from './fetch.js';
import { Run } from './run.js';
import type { MirrorSession } from './session.js';
import { SafeTree, PRIVATE_DIR } from './safe-path.js';
import { parseChecksums } from './checksums.js';
import { startProgress } from './progress.js';

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
  session: MirrorSession;
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

/** The problems found so far, and the outcomes of the current page waiting to be recorded. */
class Findings {
  readonly problems: VerifyProblem[] = [];
  readonly count: Record<ProblemKind, number> = { missing: 0, size: 0, corrupt: 0, unexpected: 0, unreadable: 0, database: 0 };
  private pageBad: VerifyProblem[] = [];
  private pageGood: string[] = [];

  note(p: VerifyProblem): void {
    this.count[p.kind]++;
    if (this.problems.length < MAX_LISTED) this.problems.push(p);
    if (p.kind !== 'unexpected' && p.kind !== 'database') this.pageBad.push(p);
  }

  verified(path: string): void {
    this.pageGood.push(path);
  }

  /** Problems mark their files 'missing' (the next sync fetches them); verified files are stamped. */
  async recordPage(files: FilesTable): Promise<void> {
    const missing = this.pageBad.map((p) => ({ path: p.path, error: `${p.kind}: ${p.detail}` }));
    await files.recordAudit({ missing, verified: this.pageGood, at: Date.now() });
    this.pageBad = [];
    this.pageGood = [];
  }
}

/** Progress of the stat and hash steps. */
interface Checked {
  stat: number;
  hash: number;
  bytes: number;
}

export async function verifyMirror(o: VerifyOptions): Promise<VerifyReport> {
  const { state, layout } = o.session;
  const findings = new Findings();
  const { count } = findings;

  // 1. database
  const check = await state.integrityCheck();
  if (check !== 'ok') findings.note({ kind: 'database', path: layout.statePath, detail: check });
  const steps: VerifyStep[] = [{ name: 'database', checked: 1, problems: count.database }];

  const total = await state.files.auditCount();
  const checked: Checked = { stat: 0, hash: 0, bytes: 0 };
  const progress = startProgress(
    'verify',
    () => ({ done: checked.stat, total, bytes: checked.bytes, totalBytes: 0, failed: count.missing + count.size + count.corrupt }),
    { enabled: o.progress, log: o.log },
  );
  const pool = new HashPool();
  try {
    // 2. stat and 3. hash
    await statAndHash(o, findings, pool, checked);
    steps.push({ name: 'stat', checked: checked.stat, problems: count.missing + count.size });
    steps.push({ name: 'hash', checked: checked.hash, problems: count.corrupt + count.unreadable });
    // 4. unexpected
    const walked = await findUnexpected(o, findings);
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
  return { ok, steps, problems: findings.problems };
}

/** Steps 2 and 3, page by page: each page's suspects are re-hashed before the next page. */
async function statAndHash(o: VerifyOptions, findings: Findings, pool: HashPool, checked: Checked): Promise<void> {
  const { state, layout } = o.session;
  const tree = new SafeTree(layout.dest);
  let last = '';
  for (;;) {
    const rows = await state.files.auditPage(last, PAGE);
    if (rows.length === 0 || o.signal.aborted) break;
    last = rows[rows.length - 1].path;
    const suspects: AuditRow[] = [];
    for (const row of rows) {
      checked.stat++;
      let st;
      try {
        if (!tree.parentsAreSafe(row.path)) throw Object.assign(new Error('parent missing or not a directory'), { code: 'ENOENT' });
        st = lstatSync(join(layout.dest, row.path));
      } catch (err) {
        findings.note({ kind: 'missing', path: row.path, detail: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not on disk' : (err as Error).message });
        continue;
      }
      if (!st.isFile()) findings.note({ kind: 'missing', path: row.path, detail: 'not a regular file' });
      else if (st.size !== row.presentSize) findings.note({ kind: 'size', path: row.path, detail: `size ${st.size}, expected ${row.presentSize}` });
      else if (o.hashAll || row.state === 'missing' || Math.floor(st.mtimeMs) !== row.presentMtimeMs) suspects.push(row);
    }
    await hashSuspects(o, suspects, findings, pool, checked);
    await findings.recordPage(state.files);
  }
}

async function hashSuspects(o: VerifyOptions, suspects: AuditRow[], findings: Findings, pool: HashPool, checked: Checked): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  for (const row of suspects) {
    if (o.signal.aborted) break;
    while (inFlight.size >= pool.capacity) await Promise.race(inFlight);
    checked.hash++;
    const task = pool
      .hash(join(o.session.layout.dest, row.path))
      .then(
        (h) => {
          checked.bytes += h.size;
          const expected = row.presentSha256 ?? parseChecksums(row.checksums).sha256;
          if (expected && h.sha256 !== expected) findings.note({ kind: 'corrupt', path: row.path, detail: `sha256 ${h.sha256}, expected ${expected}` });
          else findings.verified(row.path);
        },
        (err: Error) => findings.note({ kind: 'unreadable', path: row.path, detail: err.message }),
      )
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  }
  await Promise.all(inFlight);
}

/** Step 4: files on disk the DB does not know; returns how many files were walked. */
async function findUnexpected(o: VerifyOptions, findings: Findings): Promise<number> {
  const { files } = o.session.state;
  let walked = 0;
  let walkedPage: string[] = [];
  const checkWalked = async () => {
    const known = await files.known(walkedPage);
    for (const rel of walkedPage) if (!known.has(rel)) findings.note({ kind: 'unexpected', path: rel, detail: 'on disk but not in the state DB' });
    walkedPage = [];
  };
  for (const rel of walkFiles(o.session.layout.dest)) {
    if (o.signal.aborted) break;
    walked++;
    walkedPage.push(rel);
    if (walkedPage.length >= PAGE) await checkWalked();
  }
  await checkWalked();
  return walked;
}

/** Re-downloads the missing blobs, as a run of its own (command 'repair'); returns how many. */
async function repair(o: VerifyOptions): Promise<number> {
  const { state, layout } = o.session;
  const broken = await state.files.missingCount();
  if (broken === 0) return 0;
  const { todo } = state.work;
  await todo.reset();
  const notRepairable = broken - (await todo.fillWithMissing());
  if (notRepairable > 0) o.log.warn(`${notRepairable} index file(s) cannot be re-downloaded; the next 'mirror sync' republishes them`);
  const run = await Run.start(o.session, await Run.identityOf(o.session, 'repair'));
  const downloader = newDownloader(o.network, { log: o.log, signal: o.signal });
  try {
    const counts = await fetchAll({
      state,
      tree: new SafeTree(layout.dest),
      tmpDir: layout.tmpDir,
      downloader,
      source: run.identity.source,
      runId: run.id,
      log: o.log,
      signal: o.signal,
      events: run.events,
      deferTreeConflicts: false,
    });
    run.counts.downloaded = counts.downloaded;
    run.counts.failed = counts.failed;
    run.bytesDownloaded = counts.bytes;
    await run.finish(counts.failed ? 'failed' : 'success', counts.failed ? EXIT_FAILURES : EXIT_OK);
    return counts.downloaded;
  } catch (err) {
    run.error = (err as Error).message;
    await run.finish('failed', EXIT_FAILURES);
    throw err;
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

