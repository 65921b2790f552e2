// TEMP `incoming` on SQLite: what upstream wants, one row per path, written by discover in
// batches, read by the plan (the diff against `files`) and by publish (the staged indexes).
import type Database from 'better-sqlite3';
import type { IncomingRow, IncomingTable, StagedIndex } from '../types.js';

export function sqliteIncoming(db: Database.Database): IncomingTable {
  // Created on first use: the statements below can only be prepared once the table exists.
  let insert: Database.Statement | undefined;
  let addBatch: ((rows: readonly IncomingRow[]) => string[]) | undefined;
  const create = () => {
    db.exec(`
      DROP TABLE IF EXISTS temp.incoming;
      CREATE TEMP TABLE incoming (
        path TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        url TEXT,
        size INTEGER,
        checksums TEXT NOT NULL DEFAULT '{}',
        staged TEXT,
        stage INTEGER
      );`);
    insert = db.prepare(
      `INSERT INTO temp.incoming (path, kind, url, size, checksums, staged, stage)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING`,
    );
    addBatch = db.transaction((rows: readonly IncomingRow[]) => {
      const duplicates: string[] = [];
      for (const r of rows) {
        if (insert!.run(r.path, r.kind, r.url, r.size, r.checksums, r.staged, r.stage).changes === 0) duplicates.push(r.path);
      }
      return duplicates;
    });
  };

  return {
    reset: async () => create(),
    add: async (rows) => (rows.length === 0 ? [] : addBatch!(rows)),
    treeCollisions: async () =>
      db
        .prepare(
          `SELECT a.path AS parent, b.path AS child FROM temp.incoming a JOIN temp.incoming b
             ON b.path > a.path || '/' AND b.path < a.path || '0'
           WHERE a.kind != 'drop' AND b.kind != 'drop'`,
        )
        .all() as { parent: string; child: string }[],
    remove: async (paths) => {
      const remove = db.prepare(`DELETE FROM temp.incoming WHERE path = ?`);
      for (const path of paths) remove.run(path);
    },
    indexStages: async () =>
      db.prepare(`SELECT DISTINCT stage FROM temp.incoming WHERE kind = 'index' ORDER BY stage`).pluck().all() as number[],
    indexesOfStage: async (stage, afterPath, limit) =>
      db
        .prepare(`SELECT path, staged, stage FROM temp.incoming WHERE kind = 'index' AND stage = ? AND path > ? ORDER BY path LIMIT ?`)
        .all(stage, afterPath, limit) as StagedIndex[],
  };
}
