// Stage 4, publish: moves the adapter's staged index files into place, stage by stage in
// ascending order (the root index is the adapter's highest stage, so it goes live last). Each
// stage is made durable (data, then names) before the next one starts: one filesystem sync
// makes every staged file's data durable before the first rename, then one after each group's
// renames (which also covers the next group's data, all written before publish began). Runs only
// when every blob of the run is in place.
import { renameSync } from 'node:fs';
import { sha256File } from '../util/hash-file.js';
import type { PlacedFile, StagedIndex, StateDb } from '../state/types.js';
import { syncFilesystem } from './durable.js';
import { stat } from 'node:fs/promises';
import pLimit from 'p-limit';
import type { RunEvents } from './events.js';
import type { SafeTree } from './safe-path.js';

/** Files renamed together (one filesystem sync per group). */
const GROUP = 4096;

export interface PublishParams {
  state: StateDb;
  tree: SafeTree;
  source: string;
  runId: number;
  events: RunEvents;
}

export async function publishIndexes(p: PublishParams): Promise<number> {
  const { incoming } = p.state.work;
  const stages = await incoming.indexStages();
  const publishGroup = async (rows: StagedIndex[]) => {
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
  };
  let published = 0;
  if (stages.length > 0) await syncFilesystem(p.tree.root);
  for (const stage of stages) {
    const rows = await incoming.indexesOfStage(stage);
    for (let i = 0; i < rows.length; i += GROUP) {
      await publishGroup(rows.slice(i, i + GROUP));
    }
    published += rows.length;
  }
  return published;
}
