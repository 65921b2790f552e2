// Group commit for the fetch stage: finished downloads are placed and recorded in groups (up to
// GROUP_FILES files or GROUP_MS), one group at a time: one filesystem sync for the group's
// data, the renames into place, one filesystem sync for the names, then one state-DB batch
// recording the whole group (placed files, failures, and the downloads held back for publish).
// A download that replaces a file already in the mirror, or that the old tree is in the way of
// (when deferTreeConflicts), is not placed: the verified file waits in the `deferred` work table
// for publish (see publish.ts).
import { renameSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { DeferredFile, FailedFile, PlacedFile, StateDb, TodoRow } from '../state/types.js';
import { DownloadError, type DownloadResult } from '../http/downloader.js';
import { syncFilesystem } from './durable.js';
import type { RunEvents } from './events.js';
import { isTreeConflict, type SafeTree } from './safe-path.js';

const GROUP_FILES = 512;
const GROUP_MS = 250;
/** Failures listed by message (the rest are counted and in the DB): bounded memory. */
const MAX_LISTED_FAILURES = 100;

/** A verified download in its tmp file. */
export interface Finished {
  row: TodoRow;
  tmpFile: string;
  result: DownloadResult;
  startedAt: number;
}

interface Failure {
  row: TodoRow;
  error: Error;
  startedAt: number;
}

export interface CommitCounts {
  downloaded: number;
  failed: number;
  bytes: number;
  failures: { path: string; error: string }[];
}

export interface GroupCommitParams {
  state: StateDb;
  tree: SafeTree;
  tmpDir: string;
  source: string;
  runId: number;
  log: Logger;
  events: RunEvents;
  /** Whether a file blocked by the old tree waits for publish (sync) or fails (repair). */
  deferTreeConflicts: boolean;
  /** Where a file held for publish goes, when it must leave where it was downloaded. */
  holdForPublish: (tmpFile: string) => string;
  /** Called after each committed group, for progress. */
  onCommitted?: (counts: CommitCounts) => void;
}

export class GroupCommit {
  readonly counts: CommitCounts = { downloaded: 0, failed: 0, bytes: 0, failures: [] };
  /** The first error of a commit: later groups are not committed; fetch stops and rethrows it. */
  error: Error | undefined;
  private group: Finished[] = [];
  private failedGroup: Failure[] = [];
  private lastCommit = Date.now();
  private committing: Promise<void> = Promise.resolve();

  constructor(private readonly p: GroupCommitParams) {}

  downloaded(item: Finished): void {
    this.group.push(item);
    this.schedule(false);
  }

  failed(row: TodoRow, error: Error, startedAt: number): void {
    this.fail({ row, error, startedAt }, this.failedGroup);
    this.schedule(false);
  }

  /** Commits what is left and waits for every group. */
  async drain(): Promise<void> {
    this.schedule(true);
    await this.committing;
  }

  private fail(failure: Failure, into: Failure[]): void {
    const { counts } = this;
    counts.failed++;
    if (counts.failures.length < MAX_LISTED_FAILURES) counts.failures.push({ path: failure.row.path, error: failure.error.message });
    into.push(failure);
    this.p.log.error({ path: failure.row.path, url: failure.row.url }, failure.error.message);
  }

  private schedule(force: boolean): void {
    if (!force && this.group.length < GROUP_FILES && Date.now() - this.lastCommit < GROUP_MS) return;
    if (this.group.length === 0 && this.failedGroup.length === 0) return;
    const items = this.group;
    const failures = this.failedGroup;
    this.group = [];
    this.failedGroup = [];
    this.lastCommit = Date.now();
    this.committing = this.committing
      .then(() => (this.error ? undefined : this.commit(items, failures)))
      .catch((err: Error) => {
        this.error ??= err;
      });
  }

  private async commit(items: Finished[], failures: Failure[]): Promise<void> {
    const { placed, deferred } = await this.place(items, failures);
    const now = Date.now();
    await this.record(placed, deferred, failures, now);
    this.emit(placed, deferred, failures, now);
    this.p.onCommitted?.(this.counts);
  }

  /** Moves the group's files into place, durably; sorts out those that wait for publish. */
  private async place(items: Finished[], failures: Failure[]) {
    const { p } = this;
    const placed: { item: Finished; mtime: number }[] = [];
    const deferred: { item: Finished; mtime: number }[] = [];
    const mtimes = await Promise.all(
      items.map((item) => (item.result.mtimeMs !== undefined ? item.result.mtimeMs : stat(item.tmpFile).then((st) => st.mtimeMs, (err: Error) => err))),
    );
    if (items.length > 0) await syncFilesystem(p.tmpDir);
    items.forEach((item, i) => {
      const mtimeMs = mtimes[i];
      if (mtimeMs instanceof Error) return this.fail({ row: item.row, error: mtimeMs, startedAt: item.startedAt }, failures);
      const mtime = Math.floor(mtimeMs);
      if (item.row.replaces) return void deferred.push({ item, mtime });
      try {
        p.tree.ensureParentDirs(item.row.path);
        renameSync(item.tmpFile, p.tree.resolve(item.row.path));
        placed.push({ item, mtime });
      } catch (err) {
        // A file of the old tree in the way (upstream turned `a` into `a/b`, or back): the new
        // file waits for publish time, when the old one may go.
        if (isTreeConflict(err) && p.deferTreeConflicts) return void deferred.push({ item, mtime });
        rmSync(item.tmpFile, { force: true });
        const error = new Error(`cannot place ${item.row.path}: ${(err as Error).message}`);
        this.fail({ row: item.row, error, startedAt: item.startedAt }, failures);
      }
    });
    if (placed.length > 0) await syncFilesystem(p.tree.root);
    return { placed, deferred };
  }

  private async record(placed: { item: Finished; mtime: number }[], deferred: { item: Finished; mtime: number }[], failures: Failure[], now: number) {
    const { p } = this;
    const held = deferred.map(({ item }) => p.holdForPublish(item.tmpFile));
    await p.state.files.record({
      placed: placed.map(({ item, mtime }): PlacedFile => ({
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
      })),
      failed: failures.map(({ row, error }): FailedFile => ({
        path: row.path,
        source: p.source,
        url: row.url,
        size: row.size,
        checksums: row.checksums,
        error: error.message,
        run: p.runId,
      })),
    });
    await p.state.work.deferred.add(
      deferred.map(({ item, mtime }, i): DeferredFile => ({
        path: item.row.path,
        tmpFile: held[i],
        url: item.row.url,
        size: item.row.size,
        checksums: item.row.checksums,
        presentSize: item.result.size,
        mtime,
        sha256: item.result.checksums.sha256 ?? null,
      })),
    );
  }

  private emit(placed: { item: Finished }[], deferred: { item: Finished }[], failures: Failure[], now: number): void {
    const { p, counts } = this;
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
  }
}
