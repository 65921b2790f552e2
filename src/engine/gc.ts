// `mirror gc`: deletes the files an earlier sync marked 'stale' (it refused to delete them
// under --max-delete), under the same guard unless --force; --dry-run only lists them.
import type { Logger } from 'pino';
import type { StateDb } from '../state/types.js';
import { collectGarbage, type CollectResult, type MaxDelete } from './collect.js';
import { RunEvents } from './events.js';
import { SafeTree } from './safe-path.js';

const PAGE = 2000;

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

export async function collectStale(o: GcOptions): Promise<GcResult> {
  const { doomed } = o.state.work;
  const { files, bytes } = await doomed.fillWithStale();
  const none: GcResult = { staleFiles: files, staleBytes: bytes, deleted: 0, bytes: 0, failed: 0 };
  if (o.dryRun) {
    for (let last = 0; ; ) {
      const rows = await doomed.page(last, PAGE);
      if (rows.length === 0) break;
      last = rows[rows.length - 1].id;
      for (const row of rows) o.onStale?.(row.path, row.size);
    }
    return none;
  }
  if (files === 0) return none;
  const runId = await o.state.runs.start({ command: 'gc', source: 'gc', upstream: '', startedAt: Date.now() });
  const result = await collectGarbage({
    state: o.state,
    tree: new SafeTree(o.dest),
    runId,
    maxDelete: o.maxDelete,
    force: o.force,
    events: new RunEvents(),
    log: o.log,
  });
  await o.state.runs.finish(runId, {
    endedAt: Date.now(),
    outcome: result.refused || result.failed ? 'failed' : 'success',
    downloaded: 0,
    kept: 0,
    deleted: result.deleted,
    failed: 0,
    published: 0,
    rejected: 0,
    bytes: 0,
    error: result.refused ?? null,
  });
  return { ...result, staleFiles: files, staleBytes: bytes };
}
