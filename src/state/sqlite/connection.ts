// Opens the SQLite state DB (WAL mode), applies pending migrations with kysely's Migrator, and
// refuses a DB written by a newer version. Queries use the better-sqlite3 handle with prepared
// statements in large transactions (the hot paths move millions of rows); the schema is in
// migrations/. kysely is loaded only when a migration is pending, which keeps the start-up of
// every ordinary run short.
import Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadMigrations, migrationNames } from '../../../migrations/index.js';
import { UsageError } from '../../errors.js';

export interface OpenOptions {
  readonly?: boolean;
}

/** An open, migrated connection. */
export async function openConnection(path: string, opts: OpenOptions = {}): Promise<Database.Database> {
  if (!opts.readonly) mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new UsageError(`cannot open state DB ${path}: ${(err as Error).message}`);
  }
  try {
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = FILE');
    const pending = pendingMigrations(db, path);
    if (pending > 0) {
      if (opts.readonly) throw new UsageError(`state DB ${path} needs a schema upgrade; run 'mirror sync' on it first`);
      await migrate(db);
    }
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** How many known migrations the DB lacks; refuses a DB with migrations this version lacks. */
function pendingMigrations(db: Database.Database, path: string): number {
  const table = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'`)
    .get();
  const applied = table ? (db.prepare('SELECT name FROM kysely_migration').pluck().all() as string[]) : [];
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
