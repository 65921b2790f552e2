// Stage 5, collect: deletes the paths in TEMP `doomed` (no longer wanted) after the new index
// is live. A guard refuses to delete more than --max-delete of the mirror in one run unless
// forced: the rows are marked 'stale' instead, for a later `mirror gc --force`.
import { rmdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { StateDb } from '../state/db.js';
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
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(s);
  if (!m) throw new UsageError(`--max-delete takes a file count (500) or a percentage (10%), not '${s}'`);
  return m[2] ? { percent: Number(m[1]) } : { count: Number(m[1]) };
}

export interface CollectResult {
  deleted: number;
  bytes: number;
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
  /** Paths to delete: a query returning (path, size) rows after `rowid > ?`. Defaults to temp.doomed. */
  table?: string;
}

export function collectGarbage(p: CollectParams): CollectResult {
  const { raw } = p.state;
  const table = p.table ?? 'temp.doomed';
  const doomed = raw.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  if (doomed === 0) return { deleted: 0, bytes: 0 };
  const total = raw.prepare(`SELECT count(*) FROM files`).pluck().get() as number;
  const refusal = guardRefusal(doomed, total, p.maxDelete);
  if (refusal && !p.force) {
    raw.prepare(`UPDATE files SET state = 'stale', updated_run = ? WHERE path IN (SELECT path FROM ${table})`).run(p.runId);
    p.log.warn(refusal);
    return { deleted: 0, bytes: 0, refused: refusal };
  }
  const page = raw.prepare(`SELECT rowid, path, size FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`);
  const forget = raw.prepare(`DELETE FROM files WHERE path = ?`);
  let deleted = 0;
  let bytes = 0;
  let last = 0;
  for (;;) {
    const rows = page.all(last) as { rowid: number; path: string; size: number | null }[];
    if (rows.length === 0) break;
    last = rows[rows.length - 1].rowid;
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
        if (code !== 'ENOENT') {
          p.log.error({ path: row.path }, `cannot delete: ${(err as Error).message}`);
          continue;
        }
      }
      removeEmptyParents(abs, p.tree.root);
      gone.push(row);
    }
    raw.transaction(() => {
      for (const row of gone) forget.run(row.path);
    })();
    for (const row of gone) {
      deleted++;
      bytes += row.size ?? 0;
      p.events.emit('file', { runId: p.runId, path: row.path, size: row.size ?? undefined, outcome: 'deleted', finishedAt: now });
    }
  }
  return { deleted, bytes };
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
