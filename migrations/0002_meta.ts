// A small key/value table for facts about the mirror itself (first: which mirror root owns the
// DB, so that one state DB is never shared by two destinations), and which command made a run
// (sync, gc, repair), so that status speaks of syncs only.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`.execute(db);
  await sql`ALTER TABLE runs ADD COLUMN command TEXT NOT NULL DEFAULT 'sync'`.execute(db);
  await sql`UPDATE runs SET command = 'gc' WHERE source = 'gc'`.execute(db);
  await sql`UPDATE runs SET command = 'repair' WHERE source = 'verify'`.execute(db);
}
