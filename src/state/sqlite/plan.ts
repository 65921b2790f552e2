// The plan on SQLite: the diff between what upstream wants (TEMP `incoming`) and what the mirror
// holds (`files`), materialised in TEMP `todo` (blobs to download: new, changed size/checksums,
// or not present on disk; in delta mode also earlier failures and files `verify` found
// missing) and TEMP `doomed` (full mode: every path not wanted any more; delta mode: the
// explicit drops). Keeps are everything else that is wanted. Sizing is computed from those tables.
import type Database from 'better-sqlite3';
import type { KeptFile, PlanMode, PlanSizing, Sizing } from '../types.js';
import { notPresentIn } from './files.js';
import { createTodo } from './todo.js';

/**
 * The wanted blobs the mirror already holds as upstream describes them (FROM … WHERE …).
 * CROSS JOIN keeps `incoming` as the outer loop: a delta touches a few rows of millions.
 */
const KEPT_FROM = `
    FROM temp.incoming i CROSS JOIN main.files f ON f.path = i.path
    WHERE i.kind = 'blob' AND f.state IN ('present', 'stale') AND f.role = 'blob' AND f.checksums = i.checksums
      AND (i.size IS NULL OR f.present_size IS i.size)`;

export function keptPage(db: Database.Database, afterPath: string, limit: number): KeptFile[] {
  return db
    .prepare(`SELECT f.path, f.url, f.present_size AS size, f.present_sha256 AS sha256 ${KEPT_FROM} AND i.path > ? ORDER BY i.path LIMIT ?`)
    .all(afterPath, limit) as KeptFile[];
}

export function computePlan(db: Database.Database, mode: PlanMode): PlanSizing {
  createTodo(db);
  db.exec(`
    INSERT INTO temp.todo (path, url, size, checksums, replaces)
      SELECT i.path, i.url, i.size, i.checksums, f.present_size IS NOT NULL
      FROM temp.incoming i LEFT JOIN main.files f ON f.path = i.path
      WHERE i.kind = 'blob'
        AND (f.path IS NULL
             OR f.state NOT IN ('present', 'stale')
             OR f.role != 'blob'
             OR f.checksums != i.checksums
             OR (i.size IS NOT NULL AND f.present_size IS NOT i.size));
    DROP TABLE IF EXISTS temp.doomed;`);
  if (mode === 'full') {
    db.exec(`
      CREATE TEMP TABLE doomed AS
        SELECT f.path, f.role, f.present_size AS size
        FROM main.files f
        WHERE NOT EXISTS (SELECT 1 FROM temp.incoming i WHERE i.path = f.path AND i.kind != 'drop');`);
  } else {
    // Files an earlier run failed or `verify` found missing are not in a delta: retry them too.
    db.exec(`
      INSERT INTO temp.todo (path, url, size, checksums, replaces)
        SELECT f.path, f.url, f.size, f.checksums, f.present_size IS NOT NULL FROM main.files f
        WHERE ${notPresentIn(['pending', 'failed', 'missing'], 'f')} AND f.role = 'blob' AND f.url IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM temp.incoming i WHERE i.path = f.path);
      CREATE TEMP TABLE doomed AS
        SELECT f.path, f.role, f.present_size AS size
        FROM temp.incoming i CROSS JOIN main.files f ON f.path = i.path
        WHERE i.kind = 'drop';`);
  }
  const sizing = (sql: string): Sizing => {
    const row = db.prepare(sql).get() as { files: number; bytes: number | null };
    return { files: row.files, bytes: row.bytes ?? 0 };
  };
  const download = sizing(`SELECT count(*) AS files, sum(size) AS bytes FROM temp.todo`);
  const unknownSize = db.prepare(`SELECT count(*) FROM temp.todo WHERE size IS NULL`).pluck().get() as number;
  return {
    download: { ...download, unknownSize },
    keep: sizing(`SELECT count(*) AS files, sum(f.present_size) AS bytes ${KEPT_FROM}`),
    delete: sizing(`SELECT count(*) AS files, sum(size) AS bytes FROM temp.doomed`),
    publish: sizing(`SELECT count(*) AS files, sum(size) AS bytes FROM temp.incoming WHERE kind = 'index'`),
  };
}
