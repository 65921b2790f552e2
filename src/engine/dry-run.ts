// `mirror plan`: discovery and the SQL diff without touching the mirror. The state DB (if any)
// is opened read-only and the desired set goes to TEMP tables; discovery runs with dryRun set
// (adapters may size index files instead of staging them), and whatever is staged goes to a
// throwaway directory outside the mirror; no cursor, no run record, nothing under <dest>.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateDb } from '../state/db.js';
import { InterruptedError } from '../errors.js';
import { discover } from './discover.js';
import { computePlan, type PlanSummary } from './plan.js';
import { layoutFor } from './layout.js';
import { cursorKey, requireSource, type SyncOptions } from './sync.js';
import { newDownloader, type NetworkOptions } from './network.js';

export type DryRunOptions = Pick<SyncOptions, 'kind' | 'upstream' | 'dest' | 'sourceOptions' | 'statePath' | 'log'> &
  NetworkOptions & { signal: AbortSignal };

export interface DryRunResult {
  plan: PlanSummary;
  problems: string[];
  rejected: number;
}

export async function planOnly(opts: DryRunOptions): Promise<DryRunResult> {
  const source = requireSource(opts.kind);
  const layout = layoutFor(opts.dest, opts.statePath);
  const scratch = mkdtempSync(join(tmpdir(), 'mirror-plan-'));
  const hasState = existsSync(layout.statePath);
  const state = await openStateDb(hasState ? layout.statePath : join(scratch, 'state.db'), { readonly: hasState });
  const downloader = newDownloader(opts, { log: opts.log, signal: opts.signal });
  try {
    const stored = await state.cursors.read(cursorKey(opts.kind, opts.upstream));
    const discovered = await discover({
      source,
      upstream: opts.upstream,
      state,
      stagingDir: scratch,
      dest: layout.dest,
      cursor: stored ? stored.value : null,
      options: opts.sourceOptions,
      downloader,
      log: opts.log,
      signal: opts.signal,
      dryRun: true,
    }).catch((err: unknown) => {
      throw opts.signal.aborted ? new InterruptedError() : err;
    });
    if (opts.signal.aborted) throw new InterruptedError();
    return { plan: await computePlan(state, discovered.result.mode), problems: discovered.problems, rejected: discovered.rejected };
  } finally {
    await downloader.close().catch(() => undefined);
    await state.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
