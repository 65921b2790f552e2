// Opens the state DB (SQLite in WAL mode), applies pending migrations with kysely's Migrator,
// and refuses a DB written by a newer version. Queries use the better-sqlite3 handle with
// prepared statements in large transactions (the hot paths move millions of rows); the table
// types below describe the rows they read. kysely is loaded only when a migration is pending,
// which keeps the start-up of every ordinary run short.
import Database from 'better-sqlite3';
import type { Generated, Kysely } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from '../../migrations/index.js';
import { UsageError } from '../errors.js';

export type FileState = 'pending' | 'present' | 'failed' | 'stale' | 'missing';
export type FileRole = 'blob' | 'index';

export interface FilesTable {
  path: string;
  source: string;
  role: FileRole;
  url: string | null;
  size: number | null;
  checksums: string;
  stage: number | null;
  state: FileState;
  present_size: number | null;
  present_mtime_ms: number | null;
  present_sha256: string | null;
  verified_at: number | null;
  error: string | null;
  updated_run: number | null;
}

export interface RunsTable {
  id: Generated<number>;
  source: string;
  upstream: string;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  downloaded: Generated<number>;
  kept: Generated<number>;
  deleted: Generated<number>;
  failed: Generated<number>;
  published: Generated<number>;
  rejected: Generated<number>;
  bytes: Generated<number>;
  error: string | null;
}

export interface CursorsTable {
  source: string;
  value: string;
  updated_at: number;
}

export interface Schema {
  files: FilesTable;
  runs: RunsTable;
  cursors: CursorsTable;
}

export interface StateDb {
  raw: Database.Database;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly?: boolean;
}

export async function openStateDb(path: string, opts: OpenOptions = {}): Promise<StateDb> {
  if (!opts.readonly) mkdirSync(dirname(path), { recursive: true });
  let raw: Database.Database;
  try {
    raw = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new UsageError(`cannot open state DB ${path}: ${(err as Error).message}`);
  }
  if (!opts.readonly) {
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
  }
  raw.pragma('busy_timeout = 5000');
  raw.pragma('cache_size = -65536');
  raw.pragma('temp_store = FILE');
  const state: StateDb = {
    raw,
    close: async () => {
      raw.close();
    },
  };
  try {
    const pending = pendingMigrations(raw, path);
    if (pending > 0) {
      if (opts.readonly) throw new UsageError(`state DB ${path} needs a schema upgrade; run 'mirror sync' on it first`);
      await migrate(raw);
    }
  } catch (err) {
    await state.close();
    throw err;
  }
  return state;
}

/** How many known migrations the DB lacks; refuses a DB with migrations this version lacks. */
function pendingMigrations(raw: Database.Database, path: string): number {
  const table = raw
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'`)
    .get();
  const applied = table ? (raw.prepare('SELECT name FROM kysely_migration').pluck().all() as string[]) : [];
  const unknown = applied.filter((name) => !(name in migrations));
  if (unknown.length > 0) {
    throw new UsageError(
      `state DB ${path} was written by a newer mirror (schema ${unknown.join(', ')}); upgrade mirror to use it`,
    );
  }
  return Object.keys(migrations).length - applied.length;
}

async function migrate(raw: Database.Database): Promise<void> {
  const { Kysely, Migrator, SqliteDialect } = await import('kysely');
  // The dialect must not close the shared handle when kysely is destroyed.
  const database = { prepare: (sql: string) => raw.prepare(sql), close: () => undefined };
  const db: Kysely<Schema> = new Kysely<Schema>({ dialect: new SqliteDialect({ database }) });
  try {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const { error } = await migrator.migrateToLatest();
    if (error) throw new Error(`state DB migration failed: ${(error as Error).message ?? String(error)}`);
  } finally {
    await db.destroy();
  }
}
