// One sync run of one job: lock → discover → plan → fetch → publish → collect → cursor.
// The engine knows no registry: the adapter only describes what upstream wants. Publish,
// collect and the cursor happen only when every file of the run succeeded; the exit code is
// 0 when complete, 1 when anything failed or was rejected, 130 when interrupted.
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Downloader } from '../http/downloader.js';
import { claimForDest, openStateDb, type StateDb } from '../state/db.js';
import { findSource, sources } from '../sources/index.js';
import { EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, UsageError } from '../errors.js';
import { discover } from './discover.js';
import { computePlan, keptFiles, type PlanSummary } from './plan.js';
import { fetchAll, placeDeferred, removePartials } from './fetch.js';
import { publishIndexes } from './publish.js';
import { collectGarbage, type MaxDelete } from './collect.js';
import { RunEvents, type RunCounts, type RunSummary } from './events.js';
import { layoutFor, lockMirror, removeScratch, resetScratch } from './layout.js';
import { newDownloader, type NetworkOptions } from './network.js';
import { SafeTree } from './safe-path.js';
import { readStatusFile, readStatusFromDb, writeStatusFile } from './status.js';
import { startProgress, formatBytes } from './progress.js';
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

export async function runSync(opts: SyncOptions): Promise<RunSummary> {
  const source = requireSource(opts.kind);
  const layout = layoutFor(opts.dest, opts.statePath);
  /** The upstream as recorded and shown: credentials in its URL redacted. */
  const shownUpstream = redactCredentials(opts.upstream);
  const lock = lockMirror(layout, `sync ${opts.kind} ${shownUpstream}`);
  const events = opts.events ?? new RunEvents();
  const signal = opts.signal ?? new AbortController().signal;
  const log = opts.log;
  let state: StateDb | undefined;
  let downloader: Downloader | undefined;
  try {
    resetScratch(layout);
    state = await openStateDb(layout.statePath);
    claimForDest(state, layout.dest, layout.statePath, opts.statePath !== undefined);
    const { raw } = state;
    const startedAt = Date.now();
    raw.prepare(`UPDATE runs SET ended_at = started_at, outcome = 'interrupted', error = 'the run was killed' WHERE ended_at IS NULL`).run();
    const runId = Number(
      raw.prepare(`INSERT INTO runs (source, upstream, started_at) VALUES (?, ?, ?)`).run(opts.kind, shownUpstream, startedAt).lastInsertRowid,
    );
    const name = opts.name ?? basename(layout.dest);
    // The size in status.json is that of the last run's end: a run that changes nothing keeps it.
    const previousSize = readStatusFile(layout.statusFile)?.size;
    writeStatusFile(layout.statusFile, readStatusFromDb(state, name, previousSize));
    events.emit('run-start', { runId, source: opts.kind, upstream: shownUpstream, dest: layout.dest, startedAt });

    downloader = newDownloader(opts, { log, signal, onRequest: (e) => events.emit('request', e) });
    opts.onDownloader?.(downloader);
    const counts: RunCounts = { downloaded: 0, kept: 0, deleted: 0, failed: 0, published: 0, rejected: 0 };
    let bytesDownloaded = 0;
    let error: string | undefined;
    /** Set when files changed state without a download, delete or publish (stale <-> present). */
    let stateShifted = false;

    let finished = false;
    const finish = (outcome: RunSummary['outcome'], exitCode: number): RunSummary => {
      finished = true;
      const endedAt = Date.now();
      if (error) error = redactCredentials(error);
      raw
        .prepare(
          `UPDATE runs SET ended_at = ?, outcome = ?, downloaded = ?, kept = ?, deleted = ?, failed = ?,
             published = ?, rejected = ?, bytes = ?, error = ? WHERE id = ?`,
        )
        .run(endedAt, outcome, counts.downloaded, counts.kept, counts.deleted, counts.failed, counts.published, counts.rejected, bytesDownloaded, error ?? null, runId);
      const unchanged = counts.downloaded + counts.deleted + counts.published + counts.failed === 0 && !stateShifted;
      writeStatusFile(layout.statusFile, readStatusFromDb(state!, name, unchanged ? previousSize : undefined));
      const summary: RunSummary = {
        runId,
        source: opts.kind,
        upstream: shownUpstream,
        dest: layout.dest,
        outcome,
        exitCode,
        counts,
        bytesDownloaded,
        startedAt,
        endedAt,
        error,
      };
      events.emit('run-end', summary);
      return summary;
    };

    try {
      const cursorRow = raw.prepare(`SELECT value FROM cursors WHERE source = ?`).pluck().get(cursorKey(opts.kind, opts.upstream)) as
        | string
        | undefined;
      const indexesMissing = raw.prepare(`SELECT 1 FROM files WHERE state != 'present' AND state = 'missing' AND role = 'index' LIMIT 1`).get() !== undefined;
      if (indexesMissing && cursorRow) log.warn('index files are missing from the mirror (see mirror verify): rediscovering upstream in full');
      log.info({ source: opts.kind, upstream: opts.upstream, dest: layout.dest, run: runId }, 'discovering upstream');
      let discovered;
      try {
        discovered = await discover({
          source,
          upstream: opts.upstream,
          state,
          stagingDir: layout.stagingDir,
          dest: layout.dest,
          cursor: cursorRow && !indexesMissing ? JSON.parse(cursorRow) : null,
          options: opts.sourceOptions,
          downloader,
          log,
          signal,
        });
      } catch (err) {
        if (signal.aborted) return finish('interrupted', EXIT_INTERRUPTED);
        if (err instanceof UsageError) throw err;
        error = `discover failed: ${(err as Error).message}`;
        log.error(error);
        return finish('failed', EXIT_FAILURES);
      }
      counts.rejected = discovered.rejected;
      const plan = computePlan(raw, discovered.result.mode);
      // Files an earlier run refused to delete (stale) that upstream wants again are simply live again.
      const revived = raw
        .prepare(
          `UPDATE files SET state = 'present' WHERE state != 'present' AND state = 'stale'
           AND path IN (SELECT path FROM temp.incoming WHERE kind IN ('blob', 'keep', 'index'))`,
        )
        .run().changes;
      if (revived > 0) stateShifted = true;
      counts.kept = plan.keep.files;
      logPlan(log, plan);
      if (events.listenerCount('file') > 0) {
        const now = Date.now();
        for (const f of keptFiles(raw)) {
          events.emit('file', { runId, path: f.path, url: f.url ?? undefined, size: f.size ?? undefined, sha256: f.sha256 ?? undefined, outcome: 'kept', finishedAt: now });
        }
      }

      const tree = new SafeTree(layout.dest);
      const progress = startProgress(
        'fetch',
        () => {
          const s = downloader!.stats();
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
        { enabled: opts.progress && plan.download.files > 0, log },
      );
      let fetched;
      try {
        fetched = await fetchAll({
          state,
          tree,
          tmpDir: layout.tmpDir,
          partialDir: layout.partialDir,
          downloader,
          source: opts.kind,
          runId,
          log,
          signal,
          events,
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
      bytesDownloaded = fetched.bytes;
      if (signal.aborted) {
        error = 'interrupted';
        return finish('interrupted', EXIT_INTERRUPTED);
      }
      if (fetched.failed > 0) {
        error = `${fetched.failed} file(s) failed; index not published, cursor not advanced (first: ${fetched.failures[0].path}: ${fetched.failures[0].error})`;
        log.error(error);
        return finish('failed', EXIT_FAILURES);
      }

      await placeDeferred({ state, tree, source: opts.kind, runId });
      counts.published = await publishIndexes({ state, tree, source: opts.kind, runId, events });
      const collected = collectGarbage({ state, tree, runId, maxDelete: opts.maxDelete, force: opts.force, events, log });
      counts.deleted = collected.deleted;
      if (collected.refused) stateShifted = true;
      // Partials nobody wants go with the rest of the garbage, unless a deletion was refused (a
      // truncated upstream list must not cost a nearly finished big download either).
      else removePartials(layout.partialDir, fetched.unusedPartials);
      // An upstream problem (a malformed line, a rejected path) keeps the cursor where it was, so
      // the next run looks at the same changes again; a refused deletion does not (the DB keeps
      // those files as stale for `mirror gc`).
      if (discovered.problemCount === 0) {
        raw
          .prepare(
            `INSERT INTO cursors (source, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
          )
          .run(cursorKey(opts.kind, opts.upstream), JSON.stringify(discovered.result.cursor ?? null), Date.now());
      }

      const extra = [
        ...(collected.refused ? [collected.refused] : []),
        ...(collected.failed ? [`${collected.failed} stale file(s) could not be deleted (see log); the next run tries again`] : []),
      ];
      const problemTotal = discovered.problemCount + extra.length;
      if (problemTotal > 0) {
        error = `${problemTotal} problem(s): ${[...discovered.problems, ...extra][0]}`;
        return finish('failed', EXIT_FAILURES);
      }
      return finish('success', EXIT_OK);
    } catch (err) {
      // Anything unexpected after the run began (disk full, a DB error, an unsafe path at
      // publish) still ends the run on record: status, run row and run-end event.
      if (!finished) {
        error = (err as Error).message;
        finish(signal.aborted ? 'interrupted' : 'failed', signal.aborted ? EXIT_INTERRUPTED : EXIT_FAILURES);
      }
      throw err;
    }
  } finally {
    await downloader?.close().catch(() => undefined);
    await state?.close();
    removeScratch(layout);
    lock.release();
  }
}

function logPlan(log: Logger, plan: PlanSummary): void {
  log.info(
    `plan (${plan.mode}): download ${plan.download.files} files (${formatBytes(plan.download.bytes)}` +
      `${plan.download.unknownSize ? `, ${plan.download.unknownSize} of unknown size` : ''}), keep ${plan.keep.files}, ` +
      `delete ${plan.delete.files} (${formatBytes(plan.delete.bytes)}), publish ${plan.publish.files} index files`,
  );
}
