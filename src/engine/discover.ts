// Stage 1, discover: runs the source adapter and streams every entry it emits into the TEMP
// table `incoming`, in batched transactions, so that millions of entries never sit in memory.
// Entries with an unsafe path, a non-http(s) URL or malformed checksums are rejected here,
// reported, and left out. An index entry's size is its staged file's; in a dry run an adapter
// may give the size alone (nothing is published), in a real run a staged file is required.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { Logger } from 'pino';
import type { StateDb } from '../state/db.js';
import type { Downloader } from '../http/downloader.js';
import { DownloadError } from '../http/downloader.js';
import type { DiscoverResult, Entry, FetchToStagingOptions, Source, StagedFetch } from '../sources/types.js';
import { canonicalChecksums } from './checksums.js';
import { checkRelativePath } from './safe-path.js';

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
  const { raw } = p.state;
  const dryRun = p.dryRun ?? false;
  raw.exec(`
    DROP TABLE IF EXISTS temp.incoming;
    CREATE TEMP TABLE incoming (
      path TEXT NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      url TEXT,
      size INTEGER,
      checksums TEXT NOT NULL DEFAULT '{}',
      staged TEXT,
      stage INTEGER
    );`);
  const insert = raw.prepare(
    `INSERT INTO temp.incoming (path, kind, url, size, checksums, staged, stage)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING`,
  );
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

  type Row = [string, string, string | null, number | null, string, string | null, number | null];
  let batch: Row[] = [];
  const writeBatch = raw.transaction((rows: Row[]) => {
    for (const row of rows) {
      if (insert.run(...row).changes === 0) reportProblem(`duplicate path '${printable(row[0])}' in upstream index; the first entry is kept`);
    }
  });
  const flush = () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    writeBatch(rows);
  };

  const emit = (entry: Entry) => {
    const reason = checkRelativePath(entry.path);
    if (reason) return reject(entry, reason);
    if (entry.kind === 'blob') {
      if (!/^https?:\/\//i.test(entry.url)) return reject(entry, `URL '${printable(entry.url)}' is not http(s)`);
      if (entry.size !== undefined && !(Number.isSafeInteger(entry.size) && entry.size >= 0)) {
        return reject(entry, `invalid size '${entry.size}'`);
      }
      let checksums: string;
      try {
        checksums = canonicalChecksums(entry.checksums);
      } catch (err) {
        return reject(entry, (err as Error).message);
      }
      batch.push([entry.path, 'blob', entry.url, entry.size ?? null, checksums, null, null]);
    } else if (entry.kind === 'index') {
      let size: number;
      if (entry.stagedFile !== undefined) {
        const inside = relative(p.stagingDir, entry.stagedFile);
        if (inside.startsWith('..') || inside.startsWith(sep)) return reject(entry, 'staged file is outside the staging directory');
        size = statSync(entry.stagedFile).size;
      } else if (!dryRun) {
        return reject(entry, 'the adapter staged no file for it (only a dry run may give a size alone)');
      } else if (entry.size === undefined || !(Number.isSafeInteger(entry.size) && entry.size >= 0)) {
        return reject(entry, `neither a staged file nor a valid size (size '${entry.size}')`);
      } else {
        size = entry.size;
      }
      batch.push([entry.path, 'index', null, size, '{}', entry.stagedFile ?? null, entry.stage]);
    } else {
      batch.push([entry.path, entry.kind, null, null, '{}', null, null]);
    }
    if (batch.length >= BATCH) flush();
  };

  const fetchToStaging = async (url: string, name: string, opts: FetchToStagingOptions = {}): Promise<StagedFetch | null> => {
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
    fetchToStaging,
  });
  flush();
  rejected += rejectTreeCollisions(raw, reportProblem);
  return { result, problems, problemCount, rejected };
}

/**
 * A path cannot be both a file and a directory: when upstream wants `a` and `a/b`, the longer
 * path is rejected (otherwise every run would fail placing it and the mirror would freeze).
 * Returns how many paths were rejected.
 */
function rejectTreeCollisions(raw: StateDb['raw'], reportProblem: (message: string) => void): number {
  const collisions = raw
    .prepare(
      `SELECT a.path AS parent, b.path AS child FROM temp.incoming a JOIN temp.incoming b
         ON b.path > a.path || '/' AND b.path < a.path || '0'
       WHERE a.kind != 'drop' AND b.kind != 'drop'`,
    )
    .all() as { parent: string; child: string }[];
  const remove = raw.prepare(`DELETE FROM temp.incoming WHERE path = ?`);
  for (const { parent, child } of collisions) {
    reportProblem(`rejected '${printable(child)}': '${printable(parent)}' is a file upstream too, it cannot also be a directory`);
    remove.run(child);
  }
  return collisions.length;
}

/** Upstream text made safe for a one-line log message. */
export function printable(text: string): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > 200 ? clean.slice(0, 200) + '…' : clean;
}
