// Stage 2, plan: the SQL diff between what upstream wants (TEMP `incoming`) and what the DB
// holds (`files`). It materialises two TEMP tables the later stages page through:
//   todo   — blobs to download (new, changed size/checksums, or not present on disk; in delta
//            mode also earlier failures and files `verify` found missing),
//   doomed — paths to delete after publish (full mode: every path not wanted any more;
//            delta mode: the explicit drops).
// Keeps are everything else that is wanted. Sizing is computed from those tables.
import type Database from 'better-sqlite3';
import type { DiscoverMode } from '../sources/types.js';
import { createTodoTable } from './fetch.js';

export interface Sizing {
  files: number;
  bytes: number;
}

export interface PlanSummary {
  mode: DiscoverMode;
  download: Sizing & { unknownSize: number };
  keep: Sizing;
  delete: Sizing;
  publish: Sizing;
}

/**
 * The wanted blobs the mirror already holds as upstream describes them (FROM … WHERE …).
 * CROSS JOIN keeps `incoming` as the outer loop: a delta touches a few rows of millions.
 */
const KEPT_FROM = `
    FROM temp.incoming i CROSS JOIN main.files f ON f.path = i.path
    WHERE i.kind = 'blob' AND f.state IN ('present', 'stale') AND f.role = 'blob' AND f.checksums = i.checksums
      AND (i.size IS NULL OR f.present_size IS i.size)`;

export interface KeptFile {
  path: string;
  url: string | null;
  size: number | null;
  sha256: string | null;
}

/** Iterates the kept files of the plan just computed (for observers such as the manifest). */
export function keptFiles(raw: Database.Database): Iterable<KeptFile> {
  return raw
    .prepare(`SELECT f.path, f.url, f.present_size AS size, f.present_sha256 AS sha256 ${KEPT_FROM} ORDER BY i.path`)
    .iterate() as Iterable<KeptFile>;
}

export function computePlan(raw: Database.Database, mode: DiscoverMode): PlanSummary {
  createTodoTable(raw);
  raw.exec(`
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
    raw.exec(`
      CREATE TEMP TABLE doomed AS
        SELECT f.path, f.role, f.present_size AS size
        FROM main.files f
        WHERE NOT EXISTS (SELECT 1 FROM temp.incoming i WHERE i.path = f.path AND i.kind != 'drop');`);
  } else {
    // Files an earlier run failed or `verify` found missing are not in a delta: retry them too.
    raw.exec(`
      INSERT INTO temp.todo (path, url, size, checksums, replaces)
        SELECT f.path, f.url, f.size, f.checksums, f.present_size IS NOT NULL FROM main.files f
        WHERE f.state != 'present' AND f.state IN ('pending', 'failed', 'missing') AND f.role = 'blob' AND f.url IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM temp.incoming i WHERE i.path = f.path);
      CREATE TEMP TABLE doomed AS
        SELECT f.path, f.role, f.present_size AS size
        FROM temp.incoming i CROSS JOIN main.files f ON f.path = i.path
        WHERE i.kind = 'drop';`);
  }
  const sizing = (sql: string) => {
    const row = raw.prepare(sql).get() as { files: number; bytes: number | null };
    return { files: row.files, bytes: row.bytes ?? 0 };
  };
  const download = sizing(`SELECT count(*) AS files, sum(size) AS bytes FROM temp.todo`);
  const unknownSize = raw.prepare(`SELECT count(*) FROM temp.todo WHERE size IS NULL`).pluck().get() as number;
  const keep = sizing(`SELECT count(*) AS files, sum(f.present_size) AS bytes ${KEPT_FROM}`);
  return {
    mode,
    download: { ...download, unknownSize },
    keep,
    delete: sizing(`SELECT count(*) AS files, sum(size) AS bytes FROM temp.doomed`),
    publish: sizing(`SELECT count(*) AS files, sum(size) AS bytes FROM temp.incoming WHERE kind = 'index'`),
  };
}
