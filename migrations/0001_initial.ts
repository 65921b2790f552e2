// Initial schema: the files the mirror holds or wants, the runs, and the per-source cursors.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per path the mirror wants or holds. `size`/`checksums` are what upstream promises;
  // the present_* columns describe what is on disk since we last wrote or verified it.
  await sql`
    CREATE TABLE files (
      path TEXT PRIMARY KEY,
      source TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('blob', 'index')),
      url TEXT,
      size INTEGER,
      checksums TEXT NOT NULL DEFAULT '{}',
      stage INTEGER,
      state TEXT NOT NULL CHECK (state IN ('pending', 'present', 'failed', 'stale', 'missing')),
      present_size INTEGER,
      present_mtime_ms INTEGER,
      present_sha256 TEXT,
      verified_at INTEGER,
      error TEXT,
      updated_run INTEGER
    ) WITHOUT ROWID`.execute(db);
  await sql`CREATE INDEX files_not_present ON files (state) WHERE state != 'present'`.execute(db);

  await sql`
    CREATE TABLE runs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      source TEXT NOT NULL,
      upstream TEXT NOT NULL,
      started_at INTEGER NOT NULL,
      ended_at INTEGER,
      outcome TEXT,
      downloaded INTEGER NOT NULL DEFAULT 0,
      kept INTEGER NOT NULL DEFAULT 0,
      deleted INTEGER NOT NULL DEFAULT 0,
      failed INTEGER NOT NULL DEFAULT 0,
      published INTEGER NOT NULL DEFAULT 0,
      rejected INTEGER NOT NULL DEFAULT 0,
      bytes INTEGER NOT NULL DEFAULT 0,
      error TEXT
    )`.execute(db);

  await sql`
    CREATE TABLE cursors (
      source TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )`.execute(db);
}
