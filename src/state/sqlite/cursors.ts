// The `cursors` table on SQLite: per source and upstream (the key), the adapter's cursor as
// JSON, stored after a run that fully succeeded.
import type Database from 'better-sqlite3';
import type { CursorsTable } from '../types.js';

export function sqliteCursors(db: Database.Database): CursorsTable {
  return {
    read: async (key) => {
      const text = db.prepare(`SELECT value FROM cursors WHERE source = ?`).pluck().get(key) as string | undefined;
      return text === undefined ? undefined : { value: JSON.parse(text) as unknown };
    },
    write: async (key, value, at) => {
      db.prepare(
        `INSERT INTO cursors (source, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ).run(key, JSON.stringify(value ?? null), at);
    },
  };
}
