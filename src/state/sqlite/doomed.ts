// TEMP `doomed` on SQLite: the paths to delete, (path, role, size), paged through in rowid
// order by collect. The plan fills it with what upstream no longer wants (see plan.ts), gc
// with the stale files.
import type Database from 'better-sqlite3';
import type { DoomedRow, DoomedTable, Sizing } from '../types.js';
import { notPresentIn } from './files.js';

export function sqliteDoomed(db: Database.Database): DoomedTable {
  return {
    fillWithStale: async () => {
      db.exec(`
        DROP TABLE IF EXISTS temp.doomed;
        CREATE TEMP TABLE doomed AS
          SELECT path, role, present_size AS size FROM files WHERE ${notPresentIn(['stale'])} ORDER BY path;`);
      return db.prepare(`SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes FROM temp.doomed`).get() as Sizing;
    },
    count: async () => db.prepare(`SELECT count(*) FROM temp.doomed`).pluck().get() as number,
    page: async (afterId, limit) =>
      db.prepare(`SELECT rowid AS id, path, size FROM temp.doomed WHERE rowid > ? ORDER BY rowid LIMIT ?`).all(afterId, limit) as DoomedRow[],
    has: async (path) => db.prepare(`SELECT 1 FROM temp.doomed WHERE path = ?`).get(path) !== undefined,
    under: async (dir) =>
      db.prepare(`SELECT path FROM temp.doomed WHERE path > ? AND path < ? ORDER BY path DESC`).pluck().all(`${dir}/`, `${dir}0`) as string[],
  };
}
