// Stage 2, plan: the diff between what upstream wants (`incoming`) and what the mirror holds
// (`files`), computed by the state layer into two work tables the later stages page through:
//   todo   — blobs to download (new, changed size/checksums, or not present on disk; in delta
//            mode also earlier failures and files `verify` found missing),
//   doomed — paths to delete after publish (full mode: every path not wanted any more;
//            delta mode: the explicit drops).
// Keeps are everything else that is wanted.
import type { KeptFile, PlanMode, PlanSizing, StateDb } from '../state/types.js';

export interface PlanSummary extends PlanSizing {
  mode: PlanMode;
}

const PAGE = 2000;

export async function computePlan(state: StateDb, mode: PlanMode): Promise<PlanSummary> {
  return { mode, ...(await state.work.plan(mode)) };
}

/** The kept files of the plan just computed, in path order (for observers such as the manifest). */
export async function* keptFiles(state: StateDb): AsyncGenerator<KeptFile> {
  for (let after = ''; ; ) {
    const rows = await state.work.keptPage(after, PAGE);
    if (rows.length === 0) return;
    after = rows[rows.length - 1].path;
    yield* rows;
  }
}
