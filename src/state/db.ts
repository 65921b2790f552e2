// Opens the state DB (SQLite in WAL mode), applies pending migrations with kysely's Migrator,
// and refuses a DB written by a newer version. Queries use the better-sqlite3 handle with
// prepared statements in large transactions (the hot paths move millions of rows); the schema
// is in migrations/. kysely is loaded only when a migration is pending, which keeps the
// start-up of every ordinary run short.
import Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadMigrations, migrationNames } from '../../migrations/index.js';
import { UsageError } from '../errors.js';

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
  const known: readonly string[] = migrationNames;
  const unknown = applied.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `state DB ${path} was written by a newer mirror (schema ${unknown.join(', ')}); upgrade mirror to use it`,
    );
  }
  return known.length - applied.length;
}

async function migrate(raw: Database.Database): Promise<void> {
  const { Kysely, Migrator, SqliteDialect } = await import('kysely');
  // The dialect must not close the shared handle when kysely is destroyed.
  const database = { prepare: (sql: string) => raw.prepare(sql), close: () => undefined };
  const db: Kysely<unknown> = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
  try {
    const migrations = await loadMigrations();
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const { error } = await migrator.migrateToLatest();
    if (error) throw new Error(`state DB migration failed: ${(error as Error).message ?? String(error)}`);
  } finally {
    await db.destroy();
  }
}

/**
 * Binds the DB to one mirror root and refuses it for any other: two destinations sharing a
 * state DB (--state) would each take the other's files for their own. A DB in its default
 * place inside the mirror belongs to that mirror wherever it moved, so it is simply re-bound.
 */
export function claimForDest(state: StateDb, dest: string, statePath: string, explicitStatePath: boolean): void {
  const owner = state.raw.prepare(`SELECT value FROM meta WHERE key = 'dest'`).pluck().get() as string | undefined;
  if (owner === undefined || (owner !== dest && !explicitStatePath)) {
    state.raw.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('dest', ?)`).run(dest);
  } else if (owner !== dest) {
    throw new UsageError(`state DB ${statePath} belongs to the mirror at ${owner}, not ${dest}; give each mirror its own --state`);
  }
}
