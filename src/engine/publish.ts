// Stage 4, publish. First the downloads fetch held back (the `deferred` work table: they
// replace a live file, or the old tree was in their way) move into place; where the old tree
// is in the way, only what the plan dooms is removed to make room. Then the adapter's staged
// index files, stage by stage in ascending order (the root index is the adapter's highest
// stage, so it goes live last). Each stage is made durable (data, then names) before the next
// one starts: one filesystem sync makes every staged file's data durable before the first
// rename, then one after each group's renames (which also covers the next group's data, all
// written before publish began). Runs only when every blob of the run is in place.
import { readdirSync, renameSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { sha256File } from '../util/hash-file.js';
import type { DoomedTable, PlacedFile, StagedIndex, StateDb } from '../state/types.js';
import { syncFilesystem } from './durable.js';
import type { RunEvents } from './events.js';
import { FileInTheWayError, isTreeConflict, type SafeTree } from './safe-path.js';

/** Files renamed together (one filesystem sync per group). */
const GROUP = 4096;
/** Held-back downloads placed together. */
const PAGE = 2000;

export interface PublishParams {
  state: StateDb;
  tree: SafeTree;
  source: string;
  runId: number;
  events: RunEvents;
}

/** Moves the downloads held back by fetch into place, durably, and records them; returns how many. */
export async function placeDeferred(p: Omit<PublishParams, 'events'>): Promise<number> {
  const { deferred, doomed } = p.state.work;
  let placed = 0;
  for (let last = 0; ; ) {
    const rows = await deferred.page(last, PAGE);
    if (rows.length === 0) break;
    last = rows[rows.length - 1].id;
    for (const row of rows) await placeClearingDoomed(doomed, p.tree, row.tmpFile, row.path);
    await syncFilesystem(p.tree.root);
    const now = Date.now();
    await p.state.files.record({
      placed: rows.map((row): PlacedFile => ({
        path: row.path,
        source: p.source,
        role: 'blob',
        url: row.url,
        size: row.size,
        checksums: row.checksums,
        stage: null,
        presentSize: row.presentSize,
        mtime: row.mtime,
        sha256: row.sha256,
        now,
        run: p.runId,
      })),
    });
    placed += rows.length;
  }
  return placed;
}

/** Publishes the staged index files; returns how many. */
export async function publishIndexes(p: PublishParams): Promise<number> {
  const { incoming } = p.state.work;
  const stages = await incoming.indexStages();
  let published = 0;
  if (stages.length > 0) await syncFilesystem(p.tree.root);
  for (const stage of stages) {
    for (let after = ''; ; ) {
      const rows = await incoming.indexesOfStage(stage, after, GROUP);
      if (rows.length === 0) break;
      after = rows[rows.length - 1].path;
      await publishGroup(p, rows);
      published += rows.length;
    }
  }
  return published;
}

async function publishGroup(p: PublishParams, rows: StagedIndex[]): Promise<void> {
  const hashLimit = pLimit(32);
  const facts = await Promise.all(
    rows.map((row) => hashLimit(async () => ({ row, st: await stat(row.staged), sha256: await sha256File(row.staged) }))),
  );
  for (const { row } of facts) {
    p.tree.ensureParentDirs(row.path);
    renameSync(row.staged, p.tree.resolve(row.path));
  }
  await syncFilesystem(p.tree.root);
  const now = Date.now();
  await p.state.files.record({
    placed: facts.map(({ row, st, sha256 }): PlacedFile => ({
      path: row.path,
      source: p.source,
      role: 'index',
      url: null,
      size: st.size,
      checksums: JSON.stringify({ sha256 }),
      stage: row.stage,
      presentSize: st.size,
      mtime: Math.floor(st.mtimeMs),
      sha256,
      now,
      run: p.runId,
    })),
  });
  for (const { row, st, sha256 } of facts) {
    p.events.emit('file', { runId: p.runId, path: row.path, size: st.size, sha256, outcome: 'published', finishedAt: now });
  }
}

/**
 * Renames `tmpFile` to `path`. Where the old tree is in the way, only what the plan dooms
 * (the `doomed` work table: no longer wanted) is removed to make room: a file standing where a
 * directory is needed, or the doomed files of a directory standing where the file goes.
 */
async function placeClearingDoomed(doomed: DoomedTable, tree: SafeTree, tmpFile: string, path: string): Promise<void> {
  const final = tree.resolve(path);
  for (let attempt = 0; ; attempt++) {
    try {
      tree.ensureParentDirs(path);
      renameSync(tmpFile, final);
      return;
    } catch (err) {
      if (attempt > 0 || !isTreeConflict(err)) throw err;
      if (err instanceof FileInTheWayError) {
        if (!(await doomed.has(err.blocker))) throw new Error(`cannot place ${path}: ${err.message} and upstream still wants it`);
        unlinkSync(tree.resolve(err.blocker));
        tree.forget(err.blocker);
      } else {
        for (const gone of await doomed.under(path)) rmSync(tree.resolve(gone), { force: true });
        removeEmptyDirs(final);
        tree.forget(path);
      }
    }
  }
}

/** Removes `dir` and every directory below it that is empty (files are never touched). */
function removeEmptyDirs(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeEmptyDirs(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // not empty: something upstream still wants lives there; the rename reports it
  }
}
