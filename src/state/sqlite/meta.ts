// The `meta` table on SQLite: small facts about the mirror itself, by key.
import type Database from 'better-sqlite3';
import type { MetaTable } from '../types.js';

export function sqliteMeta(db: Database.Database): MetaTable {
  return {
    get: async (key) => db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck().get(key) as string | undefined,
    set: async (key, value) => {
      db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`).run(key, value);
    },
  };
}
