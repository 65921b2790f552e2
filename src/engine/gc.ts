// `mirror gc`: deletes the files an earlier sync marked 'stale' (it refused to delete them
// under --max-delete), under the same guard unless --force; --dry-run only lists them. The
// deletion is a run of its own (command 'gc') on the mirror's source and upstream.
import type { Logger } from 'pino';
import { EXIT_FAILURES, EXIT_OK } from '../errors.js';
import { collectGarbage, type CollectResult, type MaxDelete } from './collect.js';
import { Run } from './run.js';
import { SafeTree } from './safe-path.js';
import type { MirrorSession } from './session.js';

const PAGE = 2000;

export interface GcOptions {
  session: MirrorSession;
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
  const { state } = o.session;
  const { doomed } = state.work;
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
  const run = await Run.start(o.session, await Run.identityOf(o.session, 'gc'));
  const result = await collectGarbage({
    state,
    tree: new SafeTree(o.session.layout.dest),
    runId: run.id,
    maxDelete: o.maxDelete,
    force: o.force,
    events: run.events,
    log: o.log,
  });
  run.counts.deleted = result.deleted;
  run.error = result.refused;
  const failed = result.refused !== undefined || result.failed > 0;
  await run.finish(failed ? 'failed' : 'success', failed ? EXIT_FAILURES : EXIT_OK);
  return { ...result, staleFiles: files, staleBytes: bytes };
}
