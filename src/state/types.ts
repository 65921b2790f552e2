// The state layer's interface: everything the engine, the commands and the features may ask of
// the state DB, in typed rows, one module per table. Nothing above src/state/ writes SQL.
//
// Two rules make a second implementation possible beside SQLite (PostgreSQL through kysely's
// dialect and `pg`, several workers sharing one DB):
//   - every call is at batch or page granularity, never one call per file: a batch of rows in,
//     a page of rows out (pages are keyed, `after` the last key seen), a count or a sum;
//   - every call returns a promise, so that an asynchronous driver can implement it. The SQLite
//     implementation does its work synchronously inside the call (prepared statements, one
//     transaction per batch) and hands back a settled promise: one microtask per batch.
// The per-run work tables (`work`) live as long as the StateDb handle: they carry a run's data
// from one stage to the next and are never shared (SQLite TEMP tables; a session of its own on
// PostgreSQL).
// This module holds types only; the implementation is in src/state/sqlite/.

export type FileRole = 'blob' | 'index';
/** 'pending' is in the schema's CHECK but never written. */
export type FileState = 'pending' | 'present' | 'failed' | 'stale' | 'missing';
/** What a discovery described: everything (full) or the changes since the cursor (delta). */
export type PlanMode = 'full' | 'delta';

export interface Sizing {
  files: number;
  bytes: number;
}

// ---- files: one row per path the mirror holds or wants ----

/** A file now on disk at its final path, with what was verified. */
export interface PlacedFile {
  path: string;
  source: string;
  role: FileRole;
  url: string | null;
  size: number | null;
  /** Canonical JSON of the expected checksums. */
  checksums: string;
  stage: number | null;
  presentSize: number;
  mtime: number;
  sha256: string | null;
  now: number;
  run: number;
}

/** A blob whose download failed. */
export interface FailedFile {
  path: string;
  source: string;
  url: string;
  size: number | null;
  checksums: string;
  error: string;
  run: number;
}

/** A row `verify` checks: a present file, or one an earlier verify found missing. */
export interface AuditRow {
  path: string;
  state: FileState;
  role: FileRole;
  url: string | null;
  presentSize: number | null;
  presentMtimeMs: number | null;
  presentSha256: string | null;
  checksums: string;
}

export interface AuditResults {
  /** Files missing, of the wrong size, corrupt or unreadable: marked 'missing' with the error. */
  missing: { path: string; error: string }[];
  /** Files found as recorded: stamped verified at `at`, 'present' again. */
  verified: string[];
  at: number;
}

export interface FilesTable {
  /**
   * Records one group of outcomes in one transaction. Placed: the row now describes the file
   * on disk ('present'). Failed: a new file becomes 'failed'; a file the mirror holds or should
   * hold (present, stale, missing) keeps its row as it was, error noted: the live index still
   * describes those bytes, and the next run plans the replacement again.
   */
  record(group: { placed?: readonly PlacedFile[]; failed?: readonly FailedFile[] }): Promise<void>;
  /** Stale files (a refused deletion) that upstream wants again (`work.incoming`) are present again; returns how many. */
  reviveWanted(): Promise<number>;
  /** Whether any index file is recorded missing (a delta could not republish it). */
  hasMissingIndex(): Promise<boolean>;
  /** Marks every path of `work.doomed` stale (a refused deletion, kept for `mirror gc`). */
  markDoomedStale(run: number): Promise<void>;
  /** Drops the rows of deleted files. */
  forget(paths: readonly string[]): Promise<void>;
  /** Rows in all states. */
  count(): Promise<number>;
  /** Files and bytes present on disk. */
  presentSize(): Promise<Sizing>;
  /** Rows `verify` checks, in path order, after `afterPath` ('' for the first page). */
  auditPage(afterPath: string, limit: number): Promise<AuditRow[]>;
  auditCount(): Promise<number>;
  recordAudit(results: AuditResults): Promise<void>;
  /** Which of `paths` have a row. */
  known(paths: readonly string[]): Promise<Set<string>>;
  /** Which of `paths` are present. */
  presentAmong(paths: readonly string[]): Promise<Set<string>>;
  missingCount(): Promise<number>;
  /** Present files written (downloaded or published) by a run after `run`, in path order. */
  presentWrittenAfter(run: number): Promise<string[]>;
}

// ---- runs: one row per sync, gc or repair ----

export type RunCommand = 'sync' | 'gc' | 'repair';
export type RunOutcome = 'success' | 'failed' | 'interrupted';

export interface RunStart {
  command: RunCommand;
  /** The source kind. */
  source: string;
  upstream: string;
  startedAt: number;
}

export interface RunEnd {
  endedAt: number;
  outcome: RunOutcome;
  downloaded: number;
  kept: number;
  deleted: number;
  failed: number;
  published: number;
  rejected: number;
  /** Bytes downloaded. */
  bytes: number;
  error: string | null;
}

export interface RunRow {
  id: number;
  command: RunCommand;
  source: string;
  upstream: string;
  startedAt: number;
  endedAt: number | null;
  outcome: RunOutcome | null;
  error: string | null;
}

export interface RunsTable {
  /** Ends, as interrupted, every run a killed process left open. */
  closeAbandoned(): Promise<void>;
  /** Inserts the run's row; returns its id. */
  start(run: RunStart): Promise<number>;
  finish(id: number, end: RunEnd): Promise<void>;
  lastSync(): Promise<RunRow | undefined>;
  /** When the last successful sync ended (ms), or null. */
  lastSuccessfulSyncEnd(): Promise<number | null>;
  /** The id of the last run that ended, or null. */
  lastEnded(): Promise<number | null>;
  exists(id: number): Promise<boolean>;
}

// ---- cursors: per source and upstream, what the adapter needs to find the next changes ----

export interface CursorsTable {
  /** The stored cursor (any JSON, null included), or undefined when none is stored. */
  read(key: string): Promise<{ value: unknown } | undefined>;
  write(key: string, value: unknown, at: number): Promise<void>;
}

// ---- meta: facts about the mirror itself ----

export interface MetaTable {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

// ---- the per-run work tables ----

export type IncomingKind = 'blob' | 'index' | 'keep' | 'drop';

/** One entry of upstream's index, as discover checked it. */
export interface IncomingRow {
  path: string;
  kind: IncomingKind;
  url: string | null;
  size: number | null;
  checksums: string;
  /** The staged file of an index entry. */
  staged: string | null;
  stage: number | null;
}

export interface StagedIndex {
  path: string;
  staged: string;
  stage: number;
}

/** incoming: what upstream wants, written by discover, read by plan and publish. */
export interface IncomingTable {
  /** Empties it (and creates it on first use). */
  reset(): Promise<void>;
  /** Adds a batch; returns the paths that were already there (the first entry is kept). */
  add(rows: readonly IncomingRow[]): Promise<string[]>;
  /** Pairs of wanted paths where one is a directory of the other. */
  treeCollisions(): Promise<{ parent: string; child: string }[]>;
  remove(paths: readonly string[]): Promise<void>;
  /** The publish stages of the index entries, ascending. */
  indexStages(): Promise<number[]>;
  /** A page of the index entries of one stage, in path order, after `afterPath` ('' for the first). */
  indexesOfStage(stage: number, afterPath: string, limit: number): Promise<StagedIndex[]>;
}

/** A blob to download. */
export interface TodoRow {
  /** Page key. */
  id: number;
  path: string;
  url: string;
  size: number | null;
  checksums: string;
  /** The mirror holds a file at this path already (it waits for publish; see DeferredTable). */
  replaces: boolean;
}

/** todo: the download list, filled by the plan (or by repair), paged through by fetch. */
export interface TodoTable {
  /** Empties todo and deferred (and creates them on first use). */
  reset(): Promise<void>;
  page(afterId: number, limit: number): Promise<TodoRow[]>;
  /** Repair: fills todo with every missing blob that has a URL; returns how many. */
  fillWithMissing(): Promise<number>;
}

/** A verified download held back until publish (it replaces a live file, or the old tree is in the way). */
export interface DeferredFile {
  path: string;
  tmpFile: string;
  url: string;
  size: number | null;
  checksums: string;
  presentSize: number;
  mtime: number;
  sha256: string | null;
}

export interface DeferredTable {
  /** Adds a batch (a later row for the same path replaces the earlier one). */
  add(rows: readonly DeferredFile[]): Promise<void>;
  page(afterId: number, limit: number): Promise<(DeferredFile & { id: number })[]>;
}

export interface DoomedRow {
  id: number;
  path: string;
  size: number | null;
}

/** doomed: paths to delete, filled by the plan (no longer wanted) or by gc (stale). */
export interface DoomedTable {
  /** gc: fills it with the stale files, in path order; returns their count and size. */
  fillWithStale(): Promise<Sizing>;
  count(): Promise<number>;
  page(afterId: number, limit: number): Promise<DoomedRow[]>;
  has(path: string): Promise<boolean>;
  /** Doomed paths below directory `dir`, in descending path order. */
  under(dir: string): Promise<string[]>;
}

export interface PlanSizing {
  download: Sizing & { unknownSize: number };
  keep: Sizing;
  delete: Sizing;
  publish: Sizing;
}

export interface KeptFile {
  path: string;
  url: string | null;
  size: number | null;
  sha256: string | null;
}

export interface WorkTables {
  readonly incoming: IncomingTable;
  readonly todo: TodoTable;
  readonly deferred: DeferredTable;
  readonly doomed: DoomedTable;
  /**
   * The plan: the diff of `incoming` against `files`, written to `todo` (blobs to download) and
   * `doomed` (paths to delete); returns the sizes. Full mode dooms every path not wanted;
   * delta mode dooms the drops and retries earlier failures and missing files.
   */
  plan(mode: PlanMode): Promise<PlanSizing>;
  /** The wanted blobs the mirror already holds as upstream describes them, in path order. */
  keptPage(afterPath: string, limit: number): Promise<KeptFile[]>;
}

export interface StateDb {
  readonly files: FilesTable;
  readonly runs: RunsTable;
  readonly cursors: CursorsTable;
  readonly meta: MetaTable;
  readonly work: WorkTables;
  /** The DB's own integrity check: 'ok', or what is wrong. */
  integrityCheck(): Promise<string>;
  close(): Promise<void>;
}
