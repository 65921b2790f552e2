// Stage 3, fetch: downloads every row of TEMP `todo` through the managed downloader into
// `.mirror/tmp/`, then places finished files in groups (group commit): one filesystem sync for
// the group's data, the renames into place, one filesystem sync for the names, and one DB
// transaction recording the whole group. A file that fails verification never reaches its
// final path. A local failure (a full disk) fails its file and stops the fetch: no other
// download is started, those in flight are abandoned.
// A download that REPLACES a file already in the mirror (same path, new bytes) is not placed
// here: the live index still describes the old bytes, so the verified file waits in TEMP
// `deferred` and `placeDeferred` moves it in at publish time, only if the whole run succeeded.
// Resume across runs: a large download with a checksum gets a tmp name derived from its path in
// `partialDir`; when it fails (Ctrl-C, network) and the DownloadError says `resumable`, the
// partial stays for the next run, which goes on with Range + If-Range and verifies the whole
// file. A finished file that waits for publish
// moves to `tmpDir` (emptied by every run). Partials left by earlier runs that this run's list
// did not use are reported (`unusedPartials`) for the caller to remove once the run succeeded.
// Files without a checksum always start over: a partial that a power loss left with garbage in
// it could not be told from a good one.
import { mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type Database from 'better-sqlite3';
import type { StateDb } from '../state/db.js';
import { prepareRecords } from './records.js';
import { DownloadError, RESUME_MIN_BYTES, type Downloader, type DownloadResult } from '../http/downloader.js';
import { SIDECAR_SUFFIX, sidecarPath } from '../http/resume.js';
import { parseChecksums } from './checksums.js';
import { syncFilesystem } from './durable.js';
import type { RunEvents } from './events.js';
import { FileInTheWayError, SafeTree } from './safe-path.js';

const PAGE = 2000;
const GROUP_FILES = 512;
const GROUP_MS = 250;
/** Failures listed by message (the rest are counted and in the DB): bounded memory. */
const MAX_LISTED_FAILURES = 100;

interface TodoRow {
  rowid: number;
  path: string;
  url: string;
  size: number | null;
  checksums: string;
  replaces: number;
}

/** (Re)creates TEMP `todo`, the download list: fill it with INSERT … SELECT. */
export function createTodoTable(raw: Database.Database): void {
  raw.exec(`
    DROP TABLE IF EXISTS temp.todo;
    CREATE TEMP TABLE todo (path TEXT NOT NULL, url TEXT NOT NULL, size INTEGER, checksums TEXT NOT NULL,
                            replaces INTEGER NOT NULL DEFAULT 0);
    CREATE TEMP TABLE IF NOT EXISTS deferred (path TEXT PRIMARY KEY, tmp_file TEXT NOT NULL, url TEXT NOT NULL,
                            size INTEGER, checksums TEXT NOT NULL, present_size INTEGER NOT NULL,
                            mtime INTEGER NOT NULL, sha256 TEXT);
    DELETE FROM temp.deferred;`);
}

interface Finished {
  row: TodoRow;
  tmpFile: string;
  result: DownloadResult;
  startedAt: number;
}

export interface FetchParams {
  state: StateDb;
  tree: SafeTree;
  tmpDir: string;
  /** Where resumable partial downloads live across runs; without it every download starts over. */
  partialDir?: string;
  downloader: Downloader;
  source: string;
  runId: number;
  log: Logger;
  signal: AbortSignal;
  events: RunEvents;
  /** Called after each committed group, for progress. */
  onProgress?: (done: FetchCounts) => void;
  /**
   * Whether a file blocked by the old tree (a file where a directory is needed, or the reverse)
   * waits for publish time in TEMP `deferred` (sync, which calls placeDeferred), or fails
   * (repair, which publishes nothing). Default true.
   */
  deferTreeConflicts?: boolean;
}

export interface FetchCounts {
  downloaded: number;
  failed: number;
  bytes: number;
  failures: { path: string; error: string }[];
  /** Names in partialDir left by earlier runs that no download of this run's full list used. */
  unusedPartials: string[];
}

export async function fetchAll(p: FetchParams): Promise<FetchCounts> {
  const { raw } = p.state;
  const counts: FetchCounts = { downloaded: 0, failed: 0, bytes: 0, failures: [], unusedPartials: [] };
  const page = raw.prepare(
    `SELECT rowid, path, url, size, checksums, replaces FROM temp.todo WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`,
  );
  const defer = raw.prepare(
    `INSERT OR REPLACE INTO temp.deferred (path, tmp_file, url, size, checksums, present_size, mtime, sha256)
     VALUES (@path, @tmpFile, @url, @size, @checksums, @presentSize, @mtime, @sha256)`,
  );
  const records = prepareRecords(raw);

  let group: Finished[] = [];
  let failedGroup: { row: TodoRow; error: DownloadError | Error; startedAt: number }[] = [];
  let lastCommit = Date.now();
  let committing: Promise<void> = Promise.resolve();

  let commitError: Error | undefined;
  const fail = (row: TodoRow, error: Error, startedAt: number, into = failedGroup) => {
    counts.failed++;
    if (counts.failures.length < MAX_LISTED_FAILURES) counts.failures.push({ path: row.path, error: error.message });
    into.push({ row, error, startedAt });
    p.log.error({ path: row.path, url: row.url }, error.message);
  };

  let seq = 0;
  const newTmpFile = () => join(p.tmpDir, `${++seq}`);
  /** A verified file that waits for publish leaves partialDir: a failed run must not keep it. */
  const holdForPublish = (item: Finished): string => {
    if (!p.partialDir || !item.tmpFile.startsWith(`${p.partialDir}/`)) return item.tmpFile;
    const held = newTmpFile();
    renameSync(item.tmpFile, held);
    return held;
  };

  const commitGroup = async (items: Finished[], failures: typeof failedGroup) => {
    const placed: { item: Finished; mtime: number; final: string }[] = [];
    const deferred: { item: Finished; mtime: number }[] = [];
    const mtimes = await Promise.all(
      items.map((item) => (item.result.mtimeMs !== undefined ? item.result.mtimeMs : stat(item.tmpFile).then((st) => st.mtimeMs, (err: Error) => err))),
    );
    if (items.length > 0) await syncFilesystem(p.tmpDir);
    items.forEach((item, i) => {
      const mtimeMs = mtimes[i];
      if (mtimeMs instanceof Error) return fail(item.row, mtimeMs, item.startedAt, failures);
      const mtime = Math.floor(mtimeMs);
      if (item.row.replaces) return void deferred.push({ item, mtime });
      try {
        p.tree.ensureParentDirs(item.row.path);
        const final = p.tree.resolve(item.row.path);
        renameSync(item.tmpFile, final);
        placed.push({ item, mtime, final });
      } catch (err) {
        // A file of the old tree in the way (upstream turned `a` into `a/b`, or back): the new
        // file waits for publish time, when the old one may go.
        if (isTreeConflict(err) && p.deferTreeConflicts !== false) return void deferred.push({ item, mtime });
        rmSync(item.tmpFile, { force: true });
        fail(item.row, new Error(`cannot place ${item.row.path}: ${(err as Error).message}`), item.startedAt, failures);
      }
    });
    if (placed.length > 0) await syncFilesystem(p.tree.root);
    const held = deferred.map(({ item }) => holdForPublish(item));
    const now = Date.now();
    raw.transaction(() => {
      for (const { item, mtime } of placed) {
        records.placed({
          path: item.row.path,
          source: p.source,
          role: 'blob',
          url: item.row.url,
          size: item.row.size,
          checksums: item.row.checksums,
          stage: null,
          presentSize: item.result.size,
          mtime,
          sha256: item.result.checksums.sha256 ?? null,
          now,
          run: p.runId,
        });
      }
      deferred.forEach(({ item, mtime }, i) => {
        defer.run({
          path: item.row.path,
          tmpFile: held[i],
          url: item.row.url,
          size: item.row.size,
          checksums: item.row.checksums,
          presentSize: item.result.size,
          mtime,
          sha256: item.result.checksums.sha256 ?? null,
        });
      });
      for (const { row, error } of failures) {
        records.failed({ path: row.path, source: p.source, url: row.url, size: row.size, checksums: row.checksums, error: error.message, run: p.runId });
      }
    })();
    for (const { item } of [...placed, ...deferred]) {
      counts.downloaded++;
      counts.bytes += item.result.size;
      p.events.emit('file', {
        runId: p.runId,
        path: item.row.path,
        url: item.row.url,
        size: item.result.size,
        sha256: item.result.checksums.sha256,
        outcome: 'downloaded',
        attempts: item.result.attempts,
        startedAt: item.startedAt,
        finishedAt: now,
      });
    }
    for (const { row, error, startedAt } of failures) {
      p.events.emit('file', {
        runId: p.runId,
        path: row.path,
        url: row.url,
        size: row.size ?? undefined,
        outcome: 'failed',
        attempts: error instanceof DownloadError ? error.attempts : undefined,
        error: error.message,
        startedAt,
        finishedAt: now,
      });
    }
    p.onProgress?.(counts);
  };

  const scheduleCommit = (force: boolean) => {
    if (!force && group.length < GROUP_FILES && Date.now() - lastCommit < GROUP_MS) return;
    if (group.length === 0 && failedGroup.length === 0) return;
    const items = group;
    const failures = failedGroup;
    group = [];
    failedGroup = [];
    lastCommit = Date.now();
    committing = committing
      .then(() => (commitError ? undefined : commitGroup(items, failures)))
      .catch((err: Error) => {
        commitError ??= err; // stops the loop below; rethrown once in-flight downloads settle
      });
  };

  /** Partials of earlier runs not (yet) claimed by a download of this run: few, bounded. */
  const leftover = new Set<string>();
  if (p.partialDir) {
    mkdirSync(p.partialDir, { recursive: true });
    // A partial and its sidecar count once (an orphan sidecar too).
    for (const entry of readdirSync(p.partialDir)) leftover.add(entry.endsWith(SIDECAR_SUFFIX) ? entry.slice(0, -SIDECAR_SUFFIX.length) : entry);
  }
  const tmpFileFor = (row: TodoRow): string => {
    if (!p.partialDir || (row.size !== null && row.size < RESUME_MIN_BYTES) || row.checksums === '{}') return newTmpFile();
    const name = createHash('sha256').update(row.path).digest('hex').slice(0, 40);
    leftover.delete(name);
    return join(p.partialDir, name);
  };
  const stopOnLocalFailure = new AbortController();
  const signal = AbortSignal.any([p.signal, stopOnLocalFailure.signal]);
  const fetchOne = async (row: TodoRow) => {
    const tmpFile = tmpFileFor(row);
    const startedAt = Date.now();
    try {
      const result = await p.downloader.download({
        url: row.url,
        tmpFile,
        size: row.size ?? undefined,
        checksums: parseChecksums(row.checksums),
        signal,
      });
      group.push({ row, tmpFile, result, startedAt });
    } catch (err) {
      if (!(err instanceof DownloadError && err.resumable)) rmSync(tmpFile, { force: true });
      if (signal.aborted) return; // interrupted, or stopped by a local failure
      fail(row, err as Error, startedAt);
      // The local filesystem failed (a full disk...): the other downloads would only fail the same way.
      if (err instanceof DownloadError && err.code === 'local') stopOnLocalFailure.abort();
    }
    scheduleCommit(false);
  };

  // Keep a bounded window of downloads queued in the downloader; page through `todo`.
  // The window follows the downloader's (adaptive) concurrency, so it can grow. A counter and
  // one waiter, not Promise.race over the window: that re-subscribed to every pending download
  // for each one started (O(window) per file).
  const window = () => Math.max(64, p.downloader.concurrencyLimit() * 4);
  let inFlight = 0;
  let wakeDispatcher: (() => void) | null = null;
  const settled = () => {
    inFlight--;
    const wake = wakeDispatcher;
    wakeDispatcher = null;
    wake?.();
  };
  const slotFreed = () => new Promise<void>((resolve) => (wakeDispatcher = resolve));
  let lastRowid = 0;
  outer: while (!signal.aborted && !commitError) {
    const rows = page.all(lastRowid) as TodoRow[];
    if (rows.length === 0) break;
    for (const row of rows) {
      if (signal.aborted || commitError) break outer;
      lastRowid = row.rowid;
      while (inFlight >= window()) await slotFreed();
      inFlight++;
      void fetchOne(row).then(settled, (err: Error) => {
        commitError ??= err;
        settled();
      });
    }
  }
  const wentThrough = !signal.aborted && !commitError;
  while (inFlight > 0) await slotFreed();
  scheduleCommit(true);
  await committing;
  if (wentThrough) counts.unusedPartials = [...leftover];
  if (commitError) throw new Error(`cannot record downloaded files: ${commitError.message}`);
  return counts;
}

/**
 * Moves the replacing downloads held back by fetch into place (publish time, before any index),
 * durably, and records them.
 */
export async function placeDeferred(p: { state: StateDb; tree: SafeTree; source: string; runId: number }): Promise<number> {
  const { raw } = p.state;
  const records = prepareRecords(raw);
  const doomed = prepareDoomedLookups(raw);
  const page = raw.prepare(`SELECT rowid, * FROM temp.deferred WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`);
  let placed = 0;
  let last = 0;
  for (;;) {
    const rows = page.all(last) as {
      rowid: number;
      path: string;
      tmp_file: string;
      url: string;
      size: number | null;
      checksums: string;
      present_size: number;
      mtime: number;
      sha256: string | null;
    }[];
    if (rows.length === 0) break;
    last = rows[rows.length - 1].rowid;
    for (const row of rows) placeClearingDoomed(doomed, p.tree, row.tmp_file, row.path);
    await syncFilesystem(p.tree.root);
    const now = Date.now();
    raw.transaction(() => {
      for (const row of rows) {
        records.placed({
          path: row.path,
          source: p.source,
          role: 'blob',
          url: row.url,
          size: row.size,
          checksums: row.checksums,
          stage: null,
          presentSize: row.present_size,
          mtime: row.mtime,
          sha256: row.sha256,
          now,
          run: p.runId,
        });
      }
    })();
    placed += rows.length;
  }
  return placed;
}

/** Removes partial downloads (and their sidecars) by name from `dir`. */
export function removePartials(dir: string, names: string[]): void {
  for (const name of names) {
    const partial = join(dir, name);
    for (const file of [partial, sidecarPath(partial)]) rmSync(file, { force: true });
  }
}

function isTreeConflict(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return err instanceof FileInTheWayError || code === 'EISDIR' || code === 'ENOTEMPTY';
}

/** Lookups in TEMP `doomed` (paths the plan no longer wants). */
interface DoomedLookups {
  has(path: string): boolean;
  /** Doomed paths below directory `dir`. */
  under(dir: string): string[];
}

function prepareDoomedLookups(raw: Database.Database): DoomedLookups {
  const one = raw.prepare(`SELECT 1 FROM temp.doomed WHERE path = ?`).pluck();
  const below = raw.prepare(`SELECT path FROM temp.doomed WHERE path > ? AND path < ? ORDER BY path DESC`).pluck();
  return {
    has: (path) => one.get(path) !== undefined,
    under: (dir) => below.all(`${dir}/`, `${dir}0`) as string[],
  };
}

/**
 * Renames `tmpFile` to `path`. Where the old tree is in the way, only what the plan dooms
 * (TEMP `doomed`: no longer wanted) is removed to make room: a file standing where a directory
 * is needed, or the doomed files of a directory standing where the file goes.
 */
function placeClearingDoomed(doomed: DoomedLookups, tree: SafeTree, tmpFile: string, path: string): void {
  const final = tree.resolve(path);
  for (let attempt = 0; ; attempt++) {
    try {
      tree.ensureParentDirs(path);
      renameSync(tmpFile, final);
      return;
    } catch (err) {
      if (attempt > 0 || !isTreeConflict(err)) throw err;
      if (err instanceof FileInTheWayError) {
        if (!doomed.has(err.blocker)) throw new Error(`cannot place ${path}: ${err.message} and upstream still wants it`);
        unlinkSync(tree.resolve(err.blocker));
        tree.forget(err.blocker);
      } else {
        for (const gone of doomed.under(path)) rmSync(tree.resolve(gone), { force: true });
        removeEmptyDirs(final);
        tree.forget(path);
      }
    }
  }
}

/** Removes `dir` and every directory below it that is empty (files are never touched). */
function removeEmptyDirs(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeEmptyDirs(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // not empty: something upstream still wants lives there; the rename reports it
  }
}
