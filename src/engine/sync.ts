// One sync run of one job, in one mirror session (lock, state DB, status): discover → plan →
// fetch → publish → collect, then the cursor. The engine knows no registry: the adapter only
// describes what upstream wants. Publish, collect and the cursor happen only when every file
// of the run succeeded; the exit code is 0 when complete, 1 when anything failed or was
// rejected, 130 when interrupted. The run's bookkeeping (row, counts, status.json, events) is
// the Run's (run.ts).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Downloader } from '../http/downloader.js';
import { findSource, sources } from '../sources/index.js';
import type { Source } from '../sources/types.js';
import { EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, UsageError } from '../errors.js';
import { discover, type DiscoverOutcome } from './discover.js';
import { computePlan, keptFiles, type PlanSummary } from './plan.js';
import { fetchAll, removePartials, type FetchCounts } from './fetch.js';
import { placeDeferred, publishIndexes } from './publish.js';
import { collectGarbage, type CollectResult, type MaxDelete } from './collect.js';
import type { RunEvents, RunOutcome, RunSummary } from './events.js';
import { newDownloader, type NetworkOptions } from './network.js';
import { SafeTree } from './safe-path.js';
import { startProgress, formatBytes } from './progress.js';
import { Run } from './run.js';
import { MirrorSession } from './session.js';
import { redactCredentials } from '../util/redact.js';

export interface SyncOptions extends NetworkOptions {
  kind: string;
  upstream: string;
  dest: string;
  sourceOptions: Record<string, unknown>;
  statePath?: string;
  maxDelete: MaxDelete;
  force: boolean;
  log: Logger;
  progress: boolean;
  events?: RunEvents;
  signal?: AbortSignal;
  /** Job name for status.json (defaults to the dest directory's name). */
  name?: string;
  /** Called with the run's downloader once it exists (metrics read its live stats). */
  onDownloader?: (downloader: Downloader) => void;
}

export function requireSource(kind: string) {
  const source = findSource(kind);
  if (!source) throw new UsageError(`unknown source kind '${kind}'; known kinds: ${sources.map((s) => s.kind).join(', ')}`);
  return source;
}

/** Cursors are per upstream; a local upstream is named by its absolute path, however it was typed. */
export function cursorKey(kind: string, upstream: string): string {
  return `${kind} ${existsSync(upstream) ? resolve(upstream) : upstream}`;
}

/** What every stage of one sync works with. */
interface SyncContext {
  opts: SyncOptions;
  source: Source;
  session: MirrorSession;
  run: Run;
  downloader: Downloader;
  tree: SafeTree;
  log: Logger;
  signal: AbortSignal;
}

/** A stage ended the run early (a failure or an interruption, already logged and noted in run.error). */
class RunStopped extends Error {
  constructor(
    readonly outcome: RunOutcome,
    readonly exitCode: number,
  ) {
    super(`run ${outcome}`);
  }
}

export async function runSync(opts: SyncOptions): Promise<RunSummary> {
  const source = requireSource(opts.kind);
  const signal = opts.signal ?? new AbortController().signal;
  const session = await MirrorSession.open({
    dest: opts.dest,
    statePath: opts.statePath,
    command: `sync ${opts.kind} ${redactCredentials(opts.upstream)}`,
    scratch: true,
    name: opts.name,
  });
  let downloader: Downloader | undefined;
  try {
    // The upstream as recorded and shown: credentials in its URL redacted.
    const run = await Run.start(session, { command: 'sync', source: opts.kind, upstream: redactCredentials(opts.upstream) }, opts.events);
    downloader = newDownloader(opts, { log: opts.log, signal, onRequest: (e) => run.events.emit('request', e) });
    opts.onDownloader?.(downloader);
    const tree = new SafeTree(session.layout.dest);
    return await runStages({ opts, source, session, run, downloader, tree, log: opts.log, signal });
  } finally {
    await downloader?.close().catch(() => undefined);
    await session.close();
  }
}

async function runStages(ctx: SyncContext): Promise<RunSummary> {
  const { run, signal } = ctx;
  try {
    const discovered = await discoverStage(ctx);
    const plan = await planStage(ctx, discovered);
    const fetched = await fetchStage(ctx, plan);
    await publishStage(ctx);
    const collected = await collectStage(ctx, fetched);
    return await endRun(ctx, discovered, collected);
  } catch (err) {
    if (err instanceof RunStopped) return run.finish(err.outcome, err.exitCode);
    // Anything unexpected after the run began (disk full, a DB error, an unsafe path at
    // publish) still ends the run on record: status, run row and run-end event.
    if (!run.finished) {
      run.error = (err as Error).message;
      await run.finish(signal.aborted ? 'interrupted' : 'failed', signal.aborted ? EXIT_INTERRUPTED : EXIT_FAILURES);
    }
    throw err;
  }
}

/** Stage 1: upstream's index into the `incoming` work table, from the cursor when it can be trusted. */
async function discoverStage({ opts, source, session, run, downloader, log, signal }: SyncContext): Promise<DiscoverOutcome> {
  const { state, layout } = session;
  const stored = await state.cursors.read(cursorKey(opts.kind, opts.upstream));
  const indexesMissing = await state.files.hasMissingIndex();
  if (indexesMissing && stored) log.warn('index files are missing from the mirror (see mirror verify): rediscovering upstream in full');
  log.info({ source: opts.kind, upstream: opts.upstream, dest: layout.dest, run: run.id }, 'discovering upstream');
  try {
    const discovered = await discover({
      source,
      upstream: opts.upstream,
      state,
      stagingDir: layout.stagingDir,
      dest: layout.dest,
      cursor: stored && !indexesMissing ? stored.value : null,
      options: opts.sourceOptions,
      downloader,
      log,
      signal,
    });
    run.counts.rejected = discovered.rejected;
    return discovered;
  } catch (err) {
    if (signal.aborted) throw new RunStopped('interrupted', EXIT_INTERRUPTED);
    if (err instanceof UsageError) throw err;
    run.error = `discover failed: ${(err as Error).message}`;
    log.error(run.error);
    throw new RunStopped('failed', EXIT_FAILURES);
  }
}

/** Stage 2: the diff; stale files upstream wants again are live again; kept files are reported. */
async function planStage({ session: { state }, run, log }: SyncContext, discovered: DiscoverOutcome): Promise<PlanSummary> {
  const plan = await computePlan(state, discovered.result.mode);
  if ((await state.files.reviveWanted()) > 0) run.stateShifted = true;
  run.counts.kept = plan.keep.files;
  log.info(
    `plan (${plan.mode}): download ${plan.download.files} files (${formatBytes(plan.download.bytes)}` +
      `${plan.download.unknownSize ? `, ${plan.download.unknownSize} of unknown size` : ''}), keep ${plan.keep.files}, ` +
      `delete ${plan.delete.files} (${formatBytes(plan.delete.bytes)}), publish ${plan.publish.files} index files`,
  );
  if (run.events.listenerCount('file') > 0) {
    const now = Date.now();
    for await (const f of keptFiles(state)) {
      run.events.emit('file', { runId: run.id, path: f.path, url: f.url ?? undefined, size: f.size ?? undefined, sha256: f.sha256 ?? undefined, outcome: 'kept', finishedAt: now });
    }
  }
  return plan;
}

/** Stage 3: every blob of the plan; any failure (or an interruption) ends the run here. */
async function fetchStage(ctx: SyncContext, plan: PlanSummary): Promise<FetchCounts> {
  const { session, run, downloader, log, signal } = ctx;
  const { counts } = run;
  const progress = startProgress(
    'fetch',
    () => {
      const s = downloader.stats();
      return {
        done: counts.downloaded + counts.failed,
        total: plan.download.files,
        bytes: s.bytes,
        totalBytes: plan.download.bytes,
        failed: counts.failed,
        inFlight: s.inFlight,
        concurrency: s.concurrency,
        retries: s.retries,
      };
    },
    { enabled: ctx.opts.progress && plan.download.files > 0, log },
  );
  let fetched: FetchCounts;
  try {
    fetched = await fetchAll({
      state: session.state,
      tree: ctx.tree,
      tmpDir: session.layout.tmpDir,
      partialDir: session.layout.partialDir,
      downloader,
      source: ctx.opts.kind,
      runId: run.id,
      log,
      signal,
      events: run.events,
      onProgress: (c) => {
        counts.downloaded = c.downloaded;
        counts.failed = c.failed;
      },
    });
  } finally {
    progress.stop();
  }
  counts.downloaded = fetched.downloaded;
  counts.failed = fetched.failed;
  run.bytesDownloaded = fetched.bytes;
  if (signal.aborted) {
    run.error = 'interrupted';
    throw new RunStopped('interrupted', EXIT_INTERRUPTED);
  }
  if (fetched.failed > 0) {
    run.error = `${fetched.failed} file(s) failed; index not published, cursor not advanced (first: ${fetched.failures[0].path}: ${fetched.failures[0].error})`;
    log.error(run.error);
    throw new RunStopped('failed', EXIT_FAILURES);
  }
  return fetched;
}

/** Stage 4: the held-back downloads, then the index files, root last. */
async function publishStage({ opts, session, run, tree }: SyncContext): Promise<void> {
  const params = { state: session.state, tree, source: opts.kind, runId: run.id, events: run.events };
  await placeDeferred(params);
  run.counts.published = await publishIndexes(params);
}

/** Stage 5: what upstream no longer wants, under the --max-delete guard; unused partials too. */
async function collectStage({ opts, session, run, tree, log }: SyncContext, fetched: FetchCounts): Promise<CollectResult> {
  const collected = await collectGarbage({ state: session.state, tree, runId: run.id, maxDelete: opts.maxDelete, force: opts.force, events: run.events, log });
  run.counts.deleted = collected.deleted;
  if (collected.refused) run.stateShifted = true;
  // Partials nobody wants go with the rest of the garbage, unless a deletion was refused (a
  // truncated upstream list must not cost a nearly finished big download either).
  else removePartials(session.layout.partialDir, fetched.unusedPartials);
  return collected;
}

/** The cursor, and the run's outcome. */
async function endRun({ opts, session, run }: SyncContext, discovered: DiscoverOutcome, collected: CollectResult): Promise<RunSummary> {
  // An upstream problem (a malformed line, a rejected path) keeps the cursor where it was, so
  // the next run looks at the same changes again; a refused deletion does not (the DB keeps
  // those files as stale for `mirror gc`).
  if (discovered.problemCount === 0) {
    await session.state.cursors.write(cursorKey(opts.kind, opts.upstream), discovered.result.cursor ?? null, Date.now());
  }
  const extra = [
    ...(collected.refused ? [collected.refused] : []),
    ...(collected.failed ? [`${collected.failed} stale file(s) could not be deleted (see log); the next run tries again`] : []),
  ];
  const problemTotal = discovered.problemCount + extra.length;
  if (problemTotal > 0) {
    run.error = `${problemTotal} problem(s): ${[...discovered.problems, ...extra][0]}`;
    return run.finish('failed', EXIT_FAILURES);
  }
  return run.finish('success', EXIT_OK);
}
