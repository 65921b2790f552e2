// The `files` table on SQLite: one row per path the mirror holds or wants. `size`/`checksums`
// are what upstream promises; the present_* columns describe what is on disk since we last
// wrote or verified it. Every statement is prepared once per connection; each batch is one
// transaction.
import type Database from 'better-sqlite3';
import type { AuditResults, AuditRow, FailedFile, FilesTable, FileState, PlacedFile, Sizing } from '../types.js';

/**
 * A WHERE term for rows in one of `states`, none of them 'present', phrased so that SQLite uses
 * the partial index `files_not_present` (ON files (state) WHERE state != 'present'): the planner
 * uses a partial index only when the query's WHERE clause contains the index's own condition
 * word for word; it does not infer `state != 'present'` from `state = 'missing'`. Without the
 * redundant term such a query scans every row of `files` (millions for crates.io) to find a few.
 */
export function notPresentIn(states: readonly Exclude<FileState, 'present'>[], alias?: string): string {
  const column = alias ? `${alias}.state` : 'state';
  const values = states.map((s) => `'${s}'`);
  return `${column} != 'present' AND ${column} ${values.length === 1 ? `= ${values[0]}` : `IN (${values.join(', ')})`}`;
}

/** States of a row whose bytes the mirror holds (or, for 'missing', should hold) as recorded. */
const ON_DISK = `('present', 'stale', 'missing')`;

const AUDITED = `state IN ('present', 'missing')`;

export function sqliteFiles(db: Database.Database): FilesTable {
  const forget = db.prepare(`DELETE FROM files WHERE path = ?`);
  const forgetAll = db.transaction((paths: readonly string[]) => {
    for (const path of paths) forget.run(path);
  });
  return {
    record: recorder(db),
    ...auditQueries(db),
    reviveWanted: async () =>
      db
        .prepare(
          `UPDATE files SET state = 'present' WHERE ${notPresentIn(['stale'])}
           AND path IN (SELECT path FROM temp.incoming WHERE kind IN ('blob', 'keep', 'index'))`,
        )
        .run().changes,
    hasMissingIndex: async () =>
      db.prepare(`SELECT 1 FROM files WHERE ${notPresentIn(['missing'])} AND role = 'index' LIMIT 1`).get() !== undefined,
    markDoomedStale: async (run) => {
      db.prepare(`UPDATE files SET state = 'stale', updated_run = ? WHERE path IN (SELECT path FROM temp.doomed)`).run(run);
    },
    forget: async (paths) => {
      if (paths.length > 0) forgetAll(paths);
    },
    count: async () => db.prepare(`SELECT count(*) FROM files`).pluck().get() as number,
    presentSize: async () =>
      db.prepare(`SELECT count(*) AS files, coalesce(sum(present_size), 0) AS bytes FROM files WHERE state = 'present'`).get() as Sizing,
    missingCount: async () => db.prepare(`SELECT count(*) FROM files WHERE ${notPresentIn(['missing'])}`).pluck().get() as number,
    presentWrittenAfter: async (run) =>
      db.prepare(`SELECT path FROM files WHERE state = 'present' AND updated_run > ? ORDER BY path`).pluck().all(run) as string[],
  };
}

/** FilesTable.record: one transaction per group. */
function recorder(db: Database.Database): FilesTable['record'] {
  const placed = db.prepare(`
    INSERT INTO files (path, source, role, url, size, checksums, stage, state, present_size,
                       present_mtime_ms, present_sha256, verified_at, error, updated_run)
    VALUES (@path, @source, @role, @url, @size, @checksums, @stage, 'present', @presentSize,
            @mtime, @sha256, @now, NULL, @run)
    ON CONFLICT (path) DO UPDATE SET
      source = excluded.source, role = excluded.role, url = excluded.url, size = excluded.size,
      checksums = excluded.checksums, stage = excluded.stage, state = 'present',
      present_size = excluded.present_size, present_mtime_ms = excluded.present_mtime_ms,
      present_sha256 = excluded.present_sha256, verified_at = excluded.verified_at,
      error = NULL, updated_run = excluded.updated_run`);
  const failed = db.prepare(`
    INSERT INTO files (path, source, role, url, size, checksums, state, error, updated_run)
    VALUES (@path, @source, 'blob', @url, @size, @checksums, 'failed', @error, @run)
    ON CONFLICT (path) DO UPDATE SET
      url = iif(files.state IN ${ON_DISK}, files.url, excluded.url),
      size = iif(files.state IN ${ON_DISK}, files.size, excluded.size),
      checksums = iif(files.state IN ${ON_DISK}, files.checksums, excluded.checksums),
      state = iif(files.state IN ${ON_DISK}, files.state, 'failed'),
      error = excluded.error, updated_run = excluded.updated_run`);
  const record = db.transaction((placedFiles: readonly PlacedFile[], failedFiles: readonly FailedFile[]) => {
    for (const file of placedFiles) placed.run(file);
    for (const file of failedFiles) failed.run(file);
  });
  return async (group) => {
    if ((group.placed?.length ?? 0) + (group.failed?.length ?? 0) > 0) record(group.placed ?? [], group.failed ?? []);
  };
}

/** What `verify` (and bundle) read and write. */
function auditQueries(db: Database.Database): Pick<FilesTable, 'auditPage' | 'auditCount' | 'recordAudit' | 'known' | 'presentAmong'> {
  const markMissing = db.prepare(`UPDATE files SET state = 'missing', error = ? WHERE path = ?`);
  const stamp = db.prepare(`UPDATE files SET verified_at = ?, state = 'present', error = NULL WHERE path = ?`);
  const recordAudit = db.transaction((r: AuditResults) => {
    for (const m of r.missing) markMissing.run(m.error, m.path);
    for (const path of r.verified) stamp.run(r.at, path);
  });
  const auditPage = db.prepare(
    `SELECT path, state, role, url, present_size AS presentSize, present_mtime_ms AS presentMtimeMs,
            present_sha256 AS presentSha256, checksums
     FROM files WHERE ${AUDITED} AND path > ? ORDER BY path LIMIT ?`,
  );
  const one = db.prepare(`SELECT 1 FROM files WHERE path = ?`).pluck();
  const onePresent = db.prepare(`SELECT 1 FROM files WHERE path = ? AND state = 'present'`).pluck();
  const among = (statement: Database.Statement, paths: readonly string[]) => {
    const found = new Set<string>();
    for (const path of paths) if (statement.get(path) !== undefined) found.add(path);
    return found;
  };
  return {
    auditPage: async (afterPath, limit) => auditPage.all(afterPath, limit) as AuditRow[],
    auditCount: async () => db.prepare(`SELECT count(*) FROM files WHERE ${AUDITED}`).pluck().get() as number,
    recordAudit: async (results) => {
      if (results.missing.length + results.verified.length > 0) recordAudit(results);
    },
    known: async (paths) => among(one, paths),
    presentAmong: async (paths) => among(onePresent, paths),
  };
}
