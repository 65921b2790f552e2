// Stage 3, fetch: downloads every row of TEMP `todo` through the managed downloader into
// `.mirror/tmp/`, then places finished files in groups (group commit): fsync the group's tmp
// files, rename each into place, fsync the touched directories once, and record the whole group
// in one DB transaction. A file that fails verification never reaches its final path.
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { StateDb } from '../state/db.js';
import { DownloadError, type Downloader, type DownloadResult } from '../http/downloader.js';
import { parseChecksums } from './checksums.js';
import { syncDirs, syncFile } from './durable.js';
import type { RunEvents } from './events.js';
import { SafeTree } from './safe-path.js';

const PAGE = 2000;
const GROUP_FILES = 512;
const GROUP_MS = 250;

interface TodoRow {
  rowid: number;
  path: string;
  url: string;
  size: number | null;
  checksums: string;
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
  downloader: Downloader;
  source: string;
  runId: number;
  log: Logger;
  signal: AbortSignal;
  events: RunEvents;
  /** Called after each committed group, for progress. */
  onProgress?: (done: FetchCounts) => void;
}

export interface FetchCounts {
  downloaded: number;
  failed: number;
  bytes: number;
  failures: { path: string; error: string }[];
}

export async function fetchAll(p: FetchParams): Promise<FetchCounts> {
  const { raw } = p.state;
  const counts: FetchCounts = { downloaded: 0, failed: 0, bytes: 0, failures: [] };
  const page = raw.prepare(
    `SELECT rowid, path, url, size, checksums FROM temp.todo WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`,
  );
  const recordPresent = raw.prepare(`
    INSERT INTO files (path, source, role, url, size, checksums, stage, state, present_size,
                       present_mtime_ms, present_sha256, verified_at, error, updated_run)
    VALUES (@path, @source, 'blob', @url, @size, @checksums, NULL, 'present', @presentSize,
            @mtime, @sha256, @now, NULL, @run)
    ON CONFLICT (path) DO UPDATE SET
      source = excluded.source, role = 'blob', url = excluded.url, size = excluded.size,
      checksums = excluded.checksums, stage = NULL, state = 'present',
      present_size = excluded.present_size, present_mtime_ms = excluded.present_mtime_ms,
      present_sha256 = excluded.present_sha256, verified_at = excluded.verified_at,
      error = NULL, updated_run = excluded.updated_run`);
  const recordFailed = raw.prepare(`
    INSERT INTO files (path, source, role, url, size, checksums, state, error, updated_run)
    VALUES (@path, @source, 'blob', @url, @size, @checksums, 'failed', @error, @run)
    ON CONFLICT (path) DO UPDATE SET
      url = excluded.url, size = excluded.size, checksums = excluded.checksums,
      state = 'failed', error = excluded.error, updated_run = excluded.updated_run`);

  let group: Finished[] = [];
  let failedGroup: { row: TodoRow; error: DownloadError | Error; startedAt: number }[] = [];
  let lastCommit = Date.now();
  let committing: Promise<void> = Promise.resolve();

  const fail = (row: TodoRow, error: Error, startedAt: number) => {
    counts.failed++;
    counts.failures.push({ path: row.path, error: error.message });
    failedGroup.push({ row, error, startedAt });
    p.log.error({ path: row.path, url: row.url }, error.message);
  };

  const commitGroup = async (items: Finished[], failures: typeof failedGroup) => {
    const placed: { item: Finished; mtime: number; final: string }[] = [];
    const stats = await Promise.all(items.map((item) => syncFile(item.tmpFile).catch((err: Error) => err)));
    items.forEach((item, i) => {
      const st = stats[i];
      if (st instanceof Error) return fail(item.row, st, item.startedAt);
      try {
        p.tree.ensureParentDirs(item.row.path);
        const final = p.tree.resolve(item.row.path);
        renameSync(item.tmpFile, final);
        placed.push({ item, mtime: Math.floor(st.mtimeMs), final });
      } catch (err) {
        rmSync(item.tmpFile, { force: true });
        fail(item.row, new Error(`cannot place ${item.row.path}: ${(err as Error).message}`), item.startedAt);
      }
    });
    await syncDirs(placed.map((x) => x.final));
    const now = Date.now();
    raw.transaction(() => {
      for (const { item, mtime } of placed) {
        recordPresent.run({
          path: item.row.path,
          source: p.source,
          url: item.row.url,
          size: item.row.size,
          checksums: item.row.checksums,
          presentSize: item.result.size,
          mtime,
          sha256: item.result.checksums.sha256 ?? null,
          now,
          run: p.runId,
        });
      }
      for (const { row, error } of failures) {
        recordFailed.run({ path: row.path, source: p.source, url: row.url, size: row.size, checksums: row.checksums, error: error.message, run: p.runId });
      }
    })();
    for (const { item } of placed) {
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
    committing = committing.then(() => commitGroup(items, failures));
  };

  let seq = 0;
  const fetchOne = async (row: TodoRow) => {
    const tmpFile = join(p.tmpDir, `${++seq}`);
    const startedAt = Date.now();
    try {
      const result = await p.downloader.download({
        url: row.url,
        tmpFile,
        size: row.size ?? undefined,
        checksums: parseChecksums(row.checksums),
        signal: p.signal,
      });
      group.push({ row, tmpFile, result, startedAt });
    } catch (err) {
      rmSync(tmpFile, { force: true });
      if (p.signal.aborted) return;
      fail(row, err as Error, startedAt);
    }
    scheduleCommit(false);
  };

  // Keep a bounded window of downloads queued in the downloader; page through `todo`.
  const window = Math.max(64, p.downloader.stats().concurrency * 4);
  const inFlight = new Set<Promise<void>>();
  let lastRowid = 0;
  outer: while (!p.signal.aborted) {
    const rows = page.all(lastRowid) as TodoRow[];
    if (rows.length === 0) break;
    for (const row of rows) {
      if (p.signal.aborted) break outer;
      lastRowid = row.rowid;
      while (inFlight.size >= window) await Promise.race(inFlight);
      const task = fetchOne(row).finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
  }
  await Promise.all(inFlight);
  scheduleCommit(true);
  await committing;
  return counts;
}
