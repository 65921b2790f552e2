// One mirror session: the lock on the mirror, its state DB (bound to this mirror) and its
// status.json, taken and given back together. sync, verify and gc each work inside one
// session; `close` refreshes status.json (unless a run ended in the session, which wrote it),
// closes the DB, empties the scratch dirs the session reset, and releases the lock.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { claimForDest, openStateDb } from '../state/db.js';
import type { Sizing, StateDb } from '../state/types.js';
import { UsageError } from '../errors.js';
import { layoutFor, lockMirror, removeScratch, resetScratch, type Layout } from './layout.js';
import type { MirrorLock } from './lock.js';
import { readStatusFromDb, writeStatusFile } from './status.js';

export interface SessionOptions {
  dest: string;
  /** --state: the DB lives elsewhere than `<dest>/.mirror/state.db`. */
  statePath?: string;
  /** What holds the lock, for the message another run gets. */
  command: string;
  /** The mirror exists already (verify, gc): refuse a directory without a state DB. */
  existing?: boolean;
  /** Empty the scratch dirs (tmp, staging) at open and remove them at close. */
  scratch?: boolean;
  /** Job name for status.json (defaults to the dest directory's name). */
  name?: string;
}

export class MirrorSession {
  /** Set when a run wrote status.json at its end; close then leaves it alone. */
  private statusWritten = false;

  private constructor(
    readonly layout: Layout,
    readonly state: StateDb,
    readonly name: string,
    private readonly lock: MirrorLock,
    private readonly scratch: boolean,
  ) {}

  static async open(o: SessionOptions): Promise<MirrorSession> {
    const layout = layoutFor(o.dest, o.statePath);
    if (o.existing && !existsSync(layout.statePath)) {
      throw new UsageError(`${o.dest} is not a mirror (no ${layout.statePath}); run 'mirror sync' first`);
    }
    const lock = lockMirror(layout, o.command);
    let state: StateDb | undefined;
    try {
      if (o.scratch) resetScratch(layout);
      state = await openStateDb(layout.statePath);
      await claimForDest(state, layout.dest, layout.statePath, o.statePath !== undefined);
      return new MirrorSession(layout, state, o.name ?? basename(layout.dest), lock, o.scratch ?? false);
    } catch (err) {
      await state?.close();
      if (o.scratch) removeScratch(layout);
      lock.release();
      throw err;
    }
  }

  /** Writes status.json from the DB; `knownSize` skips counting the mirror when it is unchanged. */
  async writeStatus(knownSize?: Sizing): Promise<void> {
    writeStatusFile(this.layout.statusFile, await readStatusFromDb(this.state, this.name, knownSize));
  }

  /** A run ended and wrote status.json: close need not write it again. */
  runEnded(): void {
    this.statusWritten = true;
  }

  async close(): Promise<void> {
    try {
      if (!this.statusWritten) await this.writeStatus();
    } finally {
      await this.state.close();
      if (this.scratch) removeScratch(this.layout);
      this.lock.release();
    }
  }
}
