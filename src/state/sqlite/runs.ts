// The `runs` table on SQLite: one row per sync, gc or repair, written when the run starts and
// completed when it ends (a row without `ended_at` is a run in progress, or one a killed
// process left: closeAbandoned ends those).
import type Database from 'better-sqlite3';
import type { RunRow, RunsTable } from '../types.js';

const ROW = `id, command, source, upstream, started_at AS startedAt, ended_at AS endedAt, outcome, error`;

export function sqliteRuns(db: Database.Database): RunsTable {
  return {
    closeAbandoned: async () => {
      db.prepare(`UPDATE runs SET ended_at = started_at, outcome = 'interrupted', error = 'the run was killed' WHERE ended_at IS NULL`).run();
    },
    start: async (run) =>
      Number(
        db
          .prepare(`INSERT INTO runs (command, source, upstream, started_at) VALUES (?, ?, ?, ?)`)
          .run(run.command, run.source, run.upstream, run.startedAt).lastInsertRowid,
      ),
    finish: async (id, end) => {
      db.prepare(
        `UPDATE runs SET ended_at = @endedAt, outcome = @outcome, downloaded = @downloaded, kept = @kept, deleted = @deleted,
           failed = @failed, published = @published, rejected = @rejected, bytes = @bytes, error = @error WHERE id = @id`,
      ).run({ ...end, id });
    },
    lastSync: async () => db.prepare(`SELECT ${ROW} FROM runs WHERE command = 'sync' ORDER BY id DESC LIMIT 1`).get() as RunRow | undefined,
    lastSuccessfulSyncEnd: async () =>
      db.prepare(`SELECT max(ended_at) FROM runs WHERE command = 'sync' AND outcome = 'success'`).pluck().get() as number | null,
    lastEnded: async () => db.prepare(`SELECT max(id) FROM runs WHERE ended_at IS NOT NULL`).pluck().get() as number | null,
    exists: async (id) => db.prepare(`SELECT 1 FROM runs WHERE id = ?`).get(id) !== undefined,
  };
}
