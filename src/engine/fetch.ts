// Stage 3, fetch: downloads every row of the `todo` work table through the managed downloader
// into `.mirror/tmp/`, keeping a bounded window of downloads queued; finished files are placed
// and recorded in groups by group-commit.ts. A file that fails verification never reaches its
// final path. A download that REPLACES a file already in the mirror (same path, new bytes)
// waits for publish (see group-commit.ts and publish.ts). A local failure (a full disk) fails
// its file and stops the fetch: no other download is started, those in flight are abandoned.
// Resume across runs: a large download with a checksum gets a tmp name derived from its path in
// `partialDir`; when it fails (Ctrl-C, network) and the DownloadError says `resumable`, the
// partial stays for the next run, which goes on with Range + If-Range and verifies the whole
// file. A finished file that waits for publish moves to `tmpDir` (emptied by every run).
// Partials left by earlier runs that this run's list did not use are reported
// (`unusedPartials`) for the caller to remove once the run succeeded. Files without a checksum
// always start over: a partial that a power loss left with garbage in it could not be told
// from a good one.
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { StateDb, TodoRow } from '../state/types.js';
import { DownloadError, RESUME_MIN_BYTES, type Downloader } from '../http/downloader.js';
import { SIDECAR_SUFFIX, sidecarPath } from '../http/resume.js';
import { parseChecksums } from './checksums.js';
import type { RunEvents } from './events.js';
import { GroupCommit, type CommitCounts } from './group-commit.js';
import type { SafeTree } from './safe-path.js';

const PAGE = 2000;

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
  onProgress?: (done: CommitCounts) => void;
  /**
   * Whether a file blocked by the old tree (a file where a directory is needed, or the reverse)
   * waits for publish time in the `deferred` work table (sync, which places it at publish), or
   * fails (repair, which publishes nothing). Default true.
   */
  deferTreeConflicts?: boolean;
}

export interface FetchCounts extends CommitCounts {
  /** Names in partialDir left by earlier runs that no download of this run's full list used. */
  unusedPartials: string[];
}

/** Tmp names for downloads: numbered in tmpDir, or derived from the path in partialDir (resumable). */
class TmpNames {
  private seq = 0;
  /** Partials of earlier runs not (yet) claimed by a download of this run: few, bounded. */
  private readonly leftover = new Set<string>();

  constructor(
    private readonly tmpDir: string,
    private readonly partialDir: string | undefined,
  ) {
    if (!partialDir) return;
    mkdirSync(partialDir, { recursive: true });
    // A partial and its sidecar count once (an orphan sidecar too).
    for (const entry of readdirSync(partialDir)) this.leftover.add(entry.endsWith(SIDECAR_SUFFIX) ? entry.slice(0, -SIDECAR_SUFFIX.length) : entry);
  }

  fresh(): string {
    return join(this.tmpDir, `${++this.seq}`);
  }

  for(row: TodoRow): string {
    if (!this.partialDir || (row.size !== null && row.size < RESUME_MIN_BYTES) || row.checksums === '{}') return this.fresh();
    const name = createHash('sha256').update(row.path).digest('hex').slice(0, 40);
    this.leftover.delete(name);
    return join(this.partialDir, name);
  }

  /** A verified file that waits for publish leaves partialDir: a failed run must not keep it. */
  holdForPublish(tmpFile: string): string {
    if (!this.partialDir || !tmpFile.startsWith(`${this.partialDir}/`)) return tmpFile;
    const held = this.fresh();
    renameSync(tmpFile, held);
    return held;
  }

  unused(): string[] {
    return [...this.leftover];
  }
}

export async function fetchAll(p: FetchParams): Promise<FetchCounts> {
  const names = new TmpNames(p.tmpDir, p.partialDir);
  const commit = new GroupCommit({
    state: p.state,
    tree: p.tree,
    tmpDir: p.tmpDir,
    source: p.source,
    runId: p.runId,
    log: p.log,
    events: p.events,
    deferTreeConflicts: p.deferTreeConflicts !== false,
    holdForPublish: (tmpFile) => names.holdForPublish(tmpFile),
    onCommitted: p.onProgress,
  });
  const stopOnLocalFailure = new AbortController();
  const signal = AbortSignal.any([p.signal, stopOnLocalFailure.signal]);
  const fetchOne = async (row: TodoRow) => {
    const tmpFile = names.for(row);
    const startedAt = Date.now();
    try {
      const result = await p.downloader.download({
        url: row.url,
        tmpFile,
        size: row.size ?? undefined,
        checksums: parseChecksums(row.checksums),
        signal,
      });
      commit.downloaded({ row, tmpFile, result, startedAt });
    } catch (err) {
      if (!(err instanceof DownloadError && err.resumable)) rmSync(tmpFile, { force: true });
      if (signal.aborted) return; // interrupted, or stopped by a local failure
      commit.failed(row, err as Error, startedAt);
      // The local filesystem failed (a full disk...): the other downloads would only fail the same way.
      if (err instanceof DownloadError && err.code === 'local') stopOnLocalFailure.abort();
    }
  };
  let fatal: Error | undefined;
  await dispatch({ ...p, signal }, fetchOne, () => fatal ?? commit.error, (err) => void (fatal ??= err));
  const wentThrough = !signal.aborted && !fatal && !commit.error;
  await commit.drain();
  const error = fatal ?? commit.error;
  if (error) throw new Error(`cannot record downloaded files: ${error.message}`);
  return { ...commit.counts, unusedPartials: wentThrough ? names.unused() : [] };
}

/**
 * Pages through `todo` and starts `fetchOne` for each row, keeping a bounded window of
 * downloads queued in the downloader; returns when every started download settled. The window
 * follows the downloader's (adaptive) concurrency, so it can grow. A counter and one waiter,
 * not Promise.race over the window: that re-subscribed to every pending download for each one
 * started (O(window) per file).
 */
async function dispatch(
  p: FetchParams,
  fetchOne: (row: TodoRow) => Promise<void>,
  stopError: () => Error | undefined,
  onError: (err: Error) => void,
): Promise<void> {
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
  let lastId = 0;
  outer: while (!p.signal.aborted && !stopError()) {
    const rows = await p.state.work.todo.page(lastId, PAGE);
    if (rows.length === 0) break;
    for (const row of rows) {
      if (p.signal.aborted || stopError()) break outer;
      lastId = row.id;
      while (inFlight >= window()) await slotFreed();
      inFlight++;
      void fetchOne(row).then(settled, (err: Error) => {
        onError(err);
        settled();
      });
    }
  }
  while (inFlight > 0) await slotFreed();
}

/** Removes partial downloads (and their sidecars) by name from `dir`. */
export function removePartials(dir: string, names: string[]): void {
  for (const name of names) {
    const partial = join(dir, name);
    for (const file of [partial, sidecarPath(partial)]) rmSync(file, { force: true });
  }
}
