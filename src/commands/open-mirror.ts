// The commands that work on an existing mirror without an upstream (verify, gc) run inside
// `withMirror`: lock taken, state DB open and bound to this mirror; then, whatever happened,
// status.json refreshed (repairs and deletions change the size), the DB closed and the lock
// released.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { layoutFor, lockMirror, type Layout } from '../engine/layout.js';
import { readStatusFromDb, writeStatusFile } from '../engine/status.js';
import { claimForDest, openStateDb, type StateDb } from '../state/db.js';

export async function withMirror<T>(dest: string, statePath: string | undefined, command: string, body: (layout: Layout, state: StateDb) => Promise<T>): Promise<T> {
  const layout = layoutFor(dest, statePath);
  if (!existsSync(layout.statePath)) throw new UsageError(`${dest} is not a mirror (no ${layout.statePath}); run 'mirror sync' first`);
  const lock = lockMirror(layout, command);
  try {
    const state = await openStateDb(layout.statePath);
    try {
      claimForDest(state, layout.dest, layout.statePath, statePath !== undefined);
      try {
        return await body(layout, state);
      } finally {
        writeStatusFile(layout.statusFile, readStatusFromDb(state, basename(layout.dest)));
      }
    } finally {
      await state.close();
    }
  } finally {
    lock.release();
  }
}
