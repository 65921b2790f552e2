// A run's bookkeeping, the same for sync, `verify --repair` and gc: its row in `runs` (started,
// then finished with its counts and error), its events (run-start, run-end) and status.json.
// A sync first ends, as interrupted, any run a killed process left open (the session's lock
// says none is alive), writes status.json as 'syncing', and, when it changed nothing, keeps the
// size status.json had instead of counting the mirror again.
import type { RunCommand } from '../state/types.js';
import { RunEvents, type RunCounts, type RunOutcome, type RunSummary } from './events.js';
import type { MirrorSession } from './session.js';
import { readStatusFile } from './status.js';
import { UsageError } from '../errors.js';
import { redactCredentials } from '../util/redact.js';

export interface RunIdentity {
  command: RunCommand;
  /** The source kind. */
  source: string;
  upstream: string;
}

export class Run {
  readonly counts: RunCounts = { downloaded: 0, kept: 0, deleted: 0, failed: 0, published: 0, rejected: 0 };
  bytesDownloaded = 0;
  error: string | undefined;
  /** Set when files changed state without a download, delete or publish (stale <-> present). */
  stateShifted = false;
  private ended = false;

  private constructor(
    private readonly session: MirrorSession,
    readonly identity: RunIdentity,
    readonly id: number,
    readonly startedAt: number,
    readonly events: RunEvents,
    private readonly previousSize: { files: number; bytes: number } | undefined,
  ) {}

  static async start(session: MirrorSession, identity: RunIdentity, events = new RunEvents()): Promise<Run> {
    const { state, layout } = session;
    const startedAt = Date.now();
    let previousSize;
    if (identity.command === 'sync') {
      await state.runs.closeAbandoned();
      // The size in status.json is that of the last run's end: a run that changes nothing keeps it.
      previousSize = readStatusFile(layout.statusFile)?.size;
    }
    const id = await state.runs.start({ ...identity, startedAt });
    if (identity.command === 'sync') await session.writeStatus(previousSize);
    events.emit('run-start', { runId: id, source: identity.source, upstream: identity.upstream, dest: layout.dest, startedAt });
    return new Run(session, identity, id, startedAt, events, previousSize);
  }

  /**
   * The mirror's own source and upstream (those of its last sync), for the runs of gc and
   * repair: they work on what a sync put there.
   */
  static async identityOf(session: MirrorSession, command: Exclude<RunCommand, 'sync'>): Promise<RunIdentity> {
    const last = await session.state.runs.lastSync();
    if (!last) throw new UsageError(`no sync of ${session.layout.dest} is recorded in ${session.layout.statePath}; run 'mirror sync' first`);
    return { command, source: last.source, upstream: last.upstream };
  }

  get finished(): boolean {
    return this.ended;
  }

  /** Ends the run on record: its row, status.json and the run-end event. */
  async finish(outcome: RunOutcome, exitCode: number): Promise<RunSummary> {
    this.ended = true;
    const endedAt = Date.now();
    if (this.error) this.error = redactCredentials(this.error);
    const { state, layout } = this.session;
    await state.runs.finish(this.id, { endedAt, outcome, ...this.counts, bytes: this.bytesDownloaded, error: this.error ?? null });
    const c = this.counts;
    const unchanged = c.downloaded + c.deleted + c.published + c.failed === 0 && !this.stateShifted;
    await this.session.writeStatus(unchanged ? this.previousSize : undefined);
    this.session.runEnded();
    const summary: RunSummary = {
      runId: this.id,
      source: this.identity.source,
      upstream: this.identity.upstream,
      dest: layout.dest,
      outcome,
      exitCode,
      counts: this.counts,
      bytesDownloaded: this.bytesDownloaded,
      startedAt: this.startedAt,
      endedAt,
      error: this.error,
    };
    this.events.emit('run-end', summary);
    return summary;
  }
}
