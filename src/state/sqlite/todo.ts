// TEMP `todo` on SQLite: the download list, filled by the plan's INSERT … SELECT (see plan.ts)
// or by repair, paged through by fetch in rowid order.
import type Database from 'better-sqlite3';
import type { TodoRow, TodoTable } from '../types.js';
import { notPresentIn } from './files.js';
import { createDeferred } from './deferred.js';

/** (Re)creates TEMP `todo` empty (and `deferred`, which fetch fills from it). */
export function createTodo(db: Database.Database): void {
  db.exec(`
    DROP TABLE IF EXISTS temp.todo;
    CREATE TEMP TABLE todo (path TEXT NOT NULL, url TEXT NOT NULL, size INTEGER, checksums TEXT NOT NULL,
                            replaces INTEGER NOT NULL DEFAULT 0);`);
  createDeferred(db);
}

export function sqliteTodo(db: Database.Database): TodoTable {
  let page: Database.Statement | undefined;
  return {
    reset: async () => {
      createTodo(db);
      page = undefined;
    },
    page: async (afterId, limit) => {
      page ??= db.prepare(`SELECT rowid AS id, path, url, size, checksums, replaces FROM temp.todo WHERE rowid > ? ORDER BY rowid LIMIT ?`);
      const rows = page.all(afterId, limit) as (Omit<TodoRow, 'replaces'> & { replaces: number })[];
      return rows.map((r) => ({ ...r, replaces: r.replaces !== 0 }));
    },
    fillWithMissing: async () =>
      db
        .prepare(
          `INSERT INTO temp.todo (path, url, size, checksums) SELECT path, url, size, checksums FROM files
           WHERE ${notPresentIn(['missing'])} AND role = 'blob' AND url IS NOT NULL`,
        )
        .run().changes,
  };
}
