// Stage 5, collect: deletes the paths of the `doomed` work table (no longer wanted; for gc,
// stale) after the new index is live. A guard refuses to delete more than --max-delete of the mirror in one run unless
// forced: the rows are marked 'stale' instead, for a later `mirror gc --force`.
import { rmdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { StateDb } from '../state/types.js';
import { UsageError } from '../errors.js';
import type { RunEvents } from './events.js';
import type { SafeTree } from './safe-path.js';

const PAGE = 2000;

export interface MaxDelete {
  count?: number;
  percent?: number;
}

export const DEFAULT_MAX_DELETE: MaxDelete = { percent: 10 };

export function parseMaxDelete(text: string | number | undefined): MaxDelete {
  if (text === undefined) return DEFAULT_MAX_DELETE;
  const s = String(text).trim();
  const m = s.match(/^(\d+(?:\.\d+)?)(%?)$/);
  if (!m) throw new UsageError(`--max-delete takes a file count (500) or a percentage (10%), not '${s}'`);
  return m[2] ? { percent: Number(m[1]) } : { count: Number(m[1]) };
}

export interface CollectResult {
  deleted: number;
  bytes: number;
  /** Files that could not be deleted (kept in the DB, so a later run tries again). */
  failed: number;
  /** Set when the guard refused; the doomed rows are then marked stale. */
  refused?: string;
}

export interface CollectParams {
  state: StateDb;
  tree: SafeTree;
  runId: number;
  maxDelete: MaxDelete;
  force: boolean;
  events: RunEvents;
  log: Logger;
}

export async function collectGarbage(p: CollectParams): Promise<CollectResult> {
  const { doomed } = p.state.work;
  const doomedCount = await doomed.count();
  if (doomedCount === 0) return { deleted: 0, bytes: 0, failed: 0 };
  const total = await p.state.files.count();
  const refusal = guardRefusal(doomedCount, total, p.maxDelete);
  if (refusal && !p.force) {
    await p.state.files.markDoomedStale(p.runId);
    p.log.warn(refusal);
    return { deleted: 0, bytes: 0, failed: 0, refused: refusal };
  }
  let deleted = 0;
  let bytes = 0;
  let failed = 0;
  let last = 0;
  for (;;) {
    const rows = await doomed.page(last, PAGE);
    if (rows.length === 0) break;
    last = rows[rows.length - 1].id;
    const now = Date.now();
    const gone: typeof rows = [];
    for (const row of rows) {
      if (!p.tree.parentsAreSafe(row.path)) {
        gone.push(row); // the path cannot hold our file (a parent is missing or is not a real dir)
        continue;
      }
      const abs = p.tree.resolve(row.path);
      try {
        unlinkSync(abs);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // ENOENT: already gone. EISDIR: our file was replaced by a directory of the new tree.
        if (code !== 'ENOENT' && code !== 'EISDIR') {
          failed++;
          p.log.error({ path: row.path }, `cannot delete: ${(err as Error).message}`);
          continue;
        }
      }
      removeEmptyParents(abs, p.tree.root);
      gone.push(row);
    }
    await p.state.files.forget(gone.map((row) => row.path));
    for (const row of gone) {
      deleted++;
      bytes += row.size ?? 0;
      p.events.emit('file', { runId: p.runId, path: row.path, size: row.size ?? undefined, outcome: 'deleted', finishedAt: now });
    }
  }
  return { deleted, bytes, failed };
}

function guardRefusal(doomed: number, total: number, max: MaxDelete): string | null {
  if (max.count !== undefined && doomed > max.count) {
    return `refusing to delete ${doomed} files: more than --max-delete ${max.count}; rerun with --force (or run 'mirror gc --force') if upstream really removed them`;
  }
  if (max.percent !== undefined && total > 0 && (doomed / total) * 100 > max.percent) {
    const pct = ((doomed / total) * 100).toFixed(1);
    return `refusing to delete ${doomed} of ${total} files (${pct}%): more than --max-delete ${max.percent}%; rerun with --force (or run 'mirror gc --force') if upstream really removed them`;
  }
  return null;
}

function removeEmptyParents(file: string, root: string): void {
  for (let dir = dirname(file); dir.startsWith(root + '/') && dir !== root; dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty (or already gone): stop climbing
    }
  }
}
