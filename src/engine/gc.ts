// `mirror gc`: deletes the files an earlier sync marked 'stale' (it refused to delete them
// under --max-delete), under the same guard unless --force; --dry-run only lists them.
import type { Logger } from 'pino';
import type { StateDb } from '../state/db.js';
import { collectGarbage, type CollectResult, type MaxDelete } from './collect.js';
import { RunEvents } from './events.js';
import { SafeTree } from './safe-path.js';

export interface GcOptions {
  state: StateDb;
  dest: string;
  dryRun: boolean;
  force: boolean;
  maxDelete: MaxDelete;
  log: Logger;
  /** Called for each stale path (in path order) on a dry run. */
  onStale?: (path: string, size: number | null) => void;
}

export interface GcResult extends CollectResult {
  staleFiles: number;
  staleBytes: number;
}

export function collectStale(o: GcOptions): GcResult {
  const { raw } = o.state;
  raw.exec(`
    DROP TABLE IF EXISTS temp.gc_doomed;
    CREATE TEMP TABLE gc_doomed AS SELECT path, role, present_size AS size FROM files WHERE state != 'present' AND state = 'stale' ORDER BY path;`);
  const { files, bytes } = raw.prepare(`SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes FROM temp.gc_doomed`).get() as {
    files: number;
    bytes: number;
  };
  const none: GcResult = { staleFiles: files, staleBytes: bytes, deleted: 0, bytes: 0, failed: 0 };
  if (o.dryRun) {
    for (const row of raw.prepare(`SELECT path, size FROM temp.gc_doomed ORDER BY rowid`).iterate() as Iterable<{ path: string; size: number | null }>) {
      o.onStale?.(row.path, row.size);
    }
    return none;
  }
  if (files === 0) return none;
  const runId = Number(
    raw.prepare(`INSERT INTO runs (command, source, upstream, started_at) VALUES ('gc', 'gc', '', ?)`).run(Date.now()).lastInsertRowid,
  );
  const result = collectGarbage({
    state: o.state,
    tree: new SafeTree(o.dest),
    runId,
    maxDelete: o.maxDelete,
    force: o.force,
    events: new RunEvents(),
    log: o.log,
    table: 'temp.gc_doomed',
  });
  raw
    .prepare(`UPDATE runs SET ended_at = ?, outcome = ?, deleted = ?, error = ? WHERE id = ?`)
    .run(Date.now(), result.refused || result.failed ? 'failed' : 'success', result.deleted, result.refused ?? null, runId);
  return { ...result, staleFiles: files, staleBytes: bytes };
}
