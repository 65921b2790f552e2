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
}

export interface GcResult extends CollectResult {
  stale: { path: string; size: number | null }[];
}

export function collectStale(o: GcOptions): GcResult {
  const { raw } = o.state;
  raw.exec(`
    DROP TABLE IF EXISTS temp.gc_doomed;
    CREATE TEMP TABLE gc_doomed AS SELECT path, role, present_size AS size FROM files WHERE state = 'stale';`);
  const stale = raw.prepare(`SELECT path, size FROM temp.gc_doomed ORDER BY path`).all() as GcResult['stale'];
  if (o.dryRun || stale.length === 0) return { deleted: 0, bytes: 0, stale };
  const runId = Number(raw.prepare(`INSERT INTO runs (source, upstream, started_at) VALUES ('gc', '', ?)`).run(Date.now()).lastInsertRowid);
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
    .run(Date.now(), result.refused ? 'failed' : 'success', result.deleted, result.refused ?? null, runId);
  return { ...result, stale };
}
