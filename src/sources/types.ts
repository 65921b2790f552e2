// Contract between the engine and a registry adapter.
//
// An adapter knows one registry's formats and nothing about the DB, the plan or the disk
// layout beyond relative paths. During `discover` it reads upstream's index (fetching what it
// needs into ctx.stagingDir through ctx.fetchToStaging), and hands the engine, through
// ctx.emit, every file the mirror must hold:
//   - blobs: downloaded by the engine from `url`, verified against `size`/`checksums`;
//   - indexes: files the adapter already wrote under ctx.stagingDir; the engine publishes them
//     after every blob succeeded, in ascending `stage` order (the root index last). In a dry
//     run (ctx.dryRun, `mirror plan`) nothing is published: an adapter may then skip writing
//     and give the file's `size` instead of a staged file;
//   - keeps: files already in the mirror that must stay as they are (e.g. older by-hash
//     generations): never downloaded, never published, not deleted in full mode;
//   - drops (delta mode only): paths upstream no longer has.
// Paths are relative, '/'-separated and untrusted: the engine validates every one.
// The adapter returns the discovery mode and the cursor to store if the run fully succeeds.
import type { Logger } from 'pino';
import type { ChecksumAlgo, Checksums } from '../model/checksums.js';

export type { ChecksumAlgo, Checksums };

export interface BlobEntry {
  kind: 'blob';
  path: string;
  url: string;
  size?: number;
  checksums: Checksums;
}

export interface IndexEntry {
  kind: 'index';
  path: string;
  /**
   * Absolute path of the staged file (inside ctx.stagingDir). The engine moves it into place.
   * Required unless ctx.dryRun: without it a real run rejects the entry.
   */
  stagedFile?: string;
  /** Byte size of the file, for a dry run that stages nothing; ignored when stagedFile is set. */
  size?: number;
  /** Publish order: all stage-0 indexes go live before stage 1, and so on. */
  stage: number;
}

export interface KeepEntry {
  kind: 'keep';
  path: string;
}

export interface DropEntry {
  kind: 'drop';
  path: string;
}

export type Entry = BlobEntry | IndexEntry | KeepEntry | DropEntry;

/**
 * full: everything the mirror must hold was emitted; anything else is stale.
 * delta: only changes were emitted (blobs/indexes to add or replace, drops to delete);
 *        everything else the DB holds stays as it is.
 */
export type DiscoverMode = 'full' | 'delta';

export interface DiscoverResult {
  mode: DiscoverMode;
  /** Opaque JSON stored after a run with zero failures, handed back as ctx.cursor next time. */
  cursor: unknown;
}

export interface StagedFetch {
  /** 200: a new body is at `file`; 304: upstream unchanged (conditional request), no file. */
  status: 200 | 304;
  file?: string;
  etag?: string;
  lastModified?: string;
  size?: number;
}

export interface FetchToStagingOptions {
  checksums?: Checksums;
  size?: number;
  /** Conditional GET validators from a previous run. */
  etag?: string;
  lastModified?: string;
  /** A 404/410 resolves to null instead of throwing (optional upstream files). */
  optional?: boolean;
}

export interface DiscoverContext {
  /** The mirror root (absolute). Adapters read published files from here, never write. */
  dest: string;
  /** A fresh, empty directory for this run's staged downloads and generated indexes. */
  stagingDir: string;
  /**
   * True for `mirror plan`: nothing will be published and nothing may be written under `dest`.
   * Index entries may then carry `size` instead of a staged file (see IndexEntry).
   */
  dryRun: boolean;
  /**
   * The cursor stored by the last fully successful run, or null: null also when the mirror lost
   * an index file since (verify found it missing), so that the adapter rediscovers everything.
   */
  cursor: unknown;
  /** Adapter options as parsed from the command line / config. */
  options: Record<string, unknown>;
  log: Logger;
  signal: AbortSignal;
  /** Records one desired entry. Cheap: entries are batched into the DB, not held in memory. */
  emit(entry: Entry): void;
  /** Reports an upstream problem that makes the run incomplete (exit 1), e.g. a bad index line. */
  reportProblem(message: string): void;
  /** Downloads `url` into the staging dir through the managed downloader, verified. */
  fetchToStaging(url: string, name: string, opts?: FetchToStagingOptions): Promise<StagedFetch | null>;
}

export interface SourceOptionSpec {
  /** Flag name as typed on the command line, without dashes (e.g. 'base-url'). */
  flag: string;
  description: string;
  /** 'string[]' flags may be repeated. */
  type: 'string' | 'string[]' | 'number' | 'boolean';
  default?: unknown;
}

export interface Source {
  /** The <kind> word on the command line: `mirror sync <kind> <upstream> <dest>`. */
  kind: string;
  summary: string;
  options: SourceOptionSpec[];
  discover(upstream: string, ctx: DiscoverContext): Promise<DiscoverResult>;
}
