// Opening the state DB, and binding it to one mirror. The DB is SQLite (src/state/sqlite/);
// callers see only the StateDb interface of ./types.ts.
import { UsageError } from '../errors.js';
import { openSqliteState } from './sqlite/index.js';
import type { StateDb } from './types.js';

export type { StateDb } from './types.js';

export interface OpenOptions {
  /** Read only (`mirror plan`, `status`, `bundle`): the DB must exist and be migrated already. */
  readonly?: boolean;
}

export async function openStateDb(path: string, opts: OpenOptions = {}): Promise<StateDb> {
  return openSqliteState(path, opts);
}

/**
 * Binds the DB to one mirror root and refuses it for any other: two destinations sharing a
 * state DB (--state) would each take the other's files for their own. A DB in its default
 * place inside the mirror belongs to that mirror wherever it moved, so it is simply re-bound.
 */
export async function claimForDest(state: StateDb, dest: string, statePath: string, explicitStatePath: boolean): Promise<void> {
  const owner = await state.meta.get('dest');
  if (owner === undefined || (owner !== dest && !explicitStatePath)) {
    await state.meta.set('dest', dest);
  } else if (owner !== dest) {
    throw new UsageError(`state DB ${statePath} belongs to the mirror at ${owner}, not ${dest}; give each mirror its own --state`);
  }
}
