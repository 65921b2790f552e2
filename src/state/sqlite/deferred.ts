// TEMP `deferred` on SQLite: verified downloads that wait for publish time (they replace a live
// file, or the old tree is in their way), one row per path, paged through in rowid order.
import type Database from 'better-sqlite3';
import type { DeferredFile, DeferredTable } from '../types.js';

/** Creates TEMP `deferred` if needed, and empties it. */
export function createDeferred(db: Database.Database): void {
  db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS deferred (path TEXT PRIMARY KEY, tmp_file TEXT NOT NULL, url TEXT NOT NULL,
                            size INTEGER, checksums TEXT NOT NULL, present_size INTEGER NOT NULL,
                            mtime INTEGER NOT NULL, sha256 TEXT);
    DELETE FROM temp.deferred;`);
}

export function sqliteDeferred(db: Database.Database): DeferredTable {
  let addBatch: ((rows: readonly DeferredFile[]) => void) | undefined;
  return {
    add: async (rows) => {
      if (rows.length === 0) return;
      if (!addBatch) {
        const insert = db.prepare(
          `INSERT OR REPLACE INTO temp.deferred (path, tmp_file, url, size, checksums, present_size, mtime, sha256)
           VALUES (@path, @tmpFile, @url, @size, @checksums, @presentSize, @mtime, @sha256)`,
        );
        addBatch = db.transaction((batch: readonly DeferredFile[]) => {
          for (const row of batch) insert.run(row);
        });
      }
      addBatch(rows);
    },
    page: async (afterId, limit) =>
      db
        .prepare(
          `SELECT rowid AS id, path, tmp_file AS tmpFile, url, size, checksums, present_size AS presentSize, mtime, sha256
           FROM temp.deferred WHERE rowid > ? ORDER BY rowid LIMIT ?`,
        )
        .all(afterId, limit) as (DeferredFile & { id: number })[],
  };
}
