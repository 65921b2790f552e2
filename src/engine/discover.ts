// Stage 1, discover: runs the source adapter and streams every entry it emits into the TEMP
// table `incoming`, in batched transactions, so that millions of entries never sit in memory.
// Entries with an unsafe path, a non-http(s) URL or malformed checksums are rejected here,
// reported, and left out. An index entry's size is its staged file's; in a dry run an adapter
// may give the size alone (nothing is published), in a real run a staged file is required.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { Logger } from 'pino';
import type { IncomingRow, IncomingTable, StateDb } from '../state/types.js';
import type { Downloader } from '../http/downloader.js';
import { DownloadError } from '../http/downloader.js';
import type { DiscoverResult, Entry, FetchToStagingOptions, Source, StagedFetch } from '../sources/types.js';
import { canonicalChecksums } from './checksums.js';
import { checkRelativePath } from './safe-path.js';

/** Entries per write to `incoming`. */
const BATCH = 5000;

export interface DiscoverOutcome {
  result: DiscoverResult;
  /** Upstream problems and rejected entries, one line each (the first MAX_LISTED_PROBLEMS). */
  problems: string[];
  /** How many problems there were in all. */
  problemCount: number;
  rejected: number;
}

const MAX_LISTED_PROBLEMS = 1000;

export interface DiscoverParams {
  source: Source;
  upstream: string;
  state: StateDb;
  stagingDir: string;
  dest: string;
  cursor: unknown;
  options: Record<string, unknown>;
  downloader: Downloader;
  log: Logger;
  signal: AbortSignal;
  /** `mirror plan`: nothing is published (see DiscoverContext.dryRun). Default false. */
  dryRun?: boolean;
}

export async function discover(p: DiscoverParams): Promise<DiscoverOutcome> {
  const { incoming } = p.state.work;
  const dryRun = p.dryRun ?? false;
  await incoming.reset();
  const problems: string[] = [];
  let problemCount = 0;
  let rejected = 0;
  const reportProblem = (message: string) => {
    problemCount++;
    if (problems.length < MAX_LISTED_PROBLEMS) problems.push(message);
    p.log.warn(message);
  };
  const reject = (entry: Entry, reason: string) => {
    rejected++;
    reportProblem(`rejected ${entry.kind} '${printable(entry.path)}': ${reason}`);
  };

  // emit is synchronous: a full batch goes to the state layer at once, which writes batches in
  // the order given (SQLite within the call); discover waits for the last one before returning.
  let batch: IncomingRow[] = [];
  let written: Promise<void> = Promise.resolve();
  let writeError: Error | undefined;
  const flush = () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    const write = incoming.add(rows).then(
      (duplicates) => {
        for (const path of duplicates) reportProblem(`duplicate path '${printable(path)}' in upstream index; the first entry is kept`);
      },
      (err: Error) => void (writeError ??= err),
    );
    written = written.then(() => write);
  };

  const emit = (entry: Entry) => {
    if (writeError) throw writeError;
    const row = incomingRow(entry, p.stagingDir, dryRun);
    if (typeof row === 'string') return reject(entry, row);
    batch.push(row);
    if (batch.length >= BATCH) flush();
  };

  const result = await p.source.discover(p.upstream, {
    dest: p.dest,
    stagingDir: p.stagingDir,
    dryRun,
    cursor: p.cursor,
    options: p.options,
    log: p.log,
    signal: p.signal,
    emit,
    reportProblem,
    fetchToStaging: stagingFetcher(p),
  });
  flush();
  await written;
  if (writeError) throw writeError;
  rejected += await rejectTreeCollisions(incoming, reportProblem);
  return { result, problems, problemCount, rejected };
}

/** The row of a valid entry, or why the entry is rejected. */
function incomingRow(entry: Entry, stagingDir: string, dryRun: boolean): IncomingRow | string {
  const reason = checkRelativePath(entry.path);
  if (reason) return reason;
  if (entry.kind === 'blob') {
    if (!/^https?:\/\//i.test(entry.url)) return `URL '${printable(entry.url)}' is not http(s)`;
    if (entry.size !== undefined && !(Number.isSafeInteger(entry.size) && entry.size >= 0)) return `invalid size '${entry.size}'`;
    let checksums: string;
    try {
      checksums = canonicalChecksums(entry.checksums);
    } catch (err) {
      return (err as Error).message;
    }
    return { path: entry.path, kind: 'blob', url: entry.url, size: entry.size ?? null, checksums, staged: null, stage: null };
  }
  if (entry.kind === 'index') {
    let size: number;
    if (entry.stagedFile !== undefined) {
      const inside = relative(stagingDir, entry.stagedFile);
      if (inside.startsWith('..') || inside.startsWith(sep)) return 'staged file is outside the staging directory';
      size = statSync(entry.stagedFile).size;
    } else if (!dryRun) {
      return 'the adapter staged no file for it (only a dry run may give a size alone)';
    } else if (entry.size === undefined || !(Number.isSafeInteger(entry.size) && entry.size >= 0)) {
      return `neither a staged file nor a valid size (size '${entry.size}')`;
    } else {
      size = entry.size;
    }
    return { path: entry.path, kind: 'index', url: null, size, checksums: '{}', staged: entry.stagedFile ?? null, stage: entry.stage };
  }
  return { path: entry.path, kind: entry.kind, url: null, size: null, checksums: '{}', staged: null, stage: null };
}

/** ctx.fetchToStaging: a download into the staging dir, under a checked relative name. */
function stagingFetcher(p: DiscoverParams) {
  return async (url: string, name: string, opts: FetchToStagingOptions = {}): Promise<StagedFetch | null> => {
    const reason = checkRelativePath(name);
    if (reason) throw new Error(`staging name '${printable(name)}': ${reason}`);
    const file = join(p.stagingDir, name);
    mkdirSync(dirname(file), { recursive: true });
    try {
      const res = await p.downloader.download({
        url,
        tmpFile: file,
        size: opts.size,
        checksums: opts.checksums,
        etag: opts.etag,
        lastModified: opts.lastModified,
        signal: p.signal,
      });
      if (res.status === 304) return { status: 304, etag: res.etag, lastModified: res.lastModified };
      return { status: 200, file, etag: res.etag, lastModified: res.lastModified, size: res.size };
    } catch (err) {
      if (opts.optional && err instanceof DownloadError && err.code === 'not-found') return null;
      throw err;
    }
  };
}

/**
 * A path cannot be both a file and a directory: when upstream wants `a` and `a/b`, the longer
 * path is rejected (otherwise every run would fail placing it and the mirror would freeze).
 * Returns how many paths were rejected.
 */
async function rejectTreeCollisions(incoming: IncomingTable, reportProblem: (message: string) => void): Promise<number> {
  const collisions = await incoming.treeCollisions();
  for (const { parent, child } of collisions) {
    reportProblem(`rejected '${printable(child)}': '${printable(parent)}' is a file upstream too, it cannot also be a directory`);
  }
  await incoming.remove(collisions.map((c) => c.child));
  return collisions.length;
}

/** Upstream text made safe for a one-line log message. */
export function printable(text: string): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > 200 ? clean.slice(0, 200) + '…' : clean;
}
