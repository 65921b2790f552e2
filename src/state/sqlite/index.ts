// The SQLite implementation of the state layer (see ../types.ts): one better-sqlite3
// connection, one module per table, prepared statements and one transaction per batch. Its
// calls do their work synchronously and return settled promises.
import type Database from 'better-sqlite3';
import type { StateDb, WorkTables } from '../types.js';
import { openConnection, type OpenOptions } from './connection.js';
import { sqliteCursors } from './cursors.js';
import { sqliteDeferred } from './deferred.js';
import { sqliteDoomed } from './doomed.js';
import { sqliteFiles } from './files.js';
import { sqliteIncoming } from './incoming.js';
import { sqliteMeta } from './meta.js';
import { computePlan, keptPage } from './plan.js';
import { sqliteRuns } from './runs.js';
import { sqliteTodo } from './todo.js';

class SqliteStateDb implements StateDb {
  readonly files;
  readonly runs;
  readonly cursors;
  readonly meta;
  readonly work: WorkTables;

  constructor(readonly connection: Database.Database) {
    const db = connection;
    this.files = sqliteFiles(db);
    this.runs = sqliteRuns(db);
    this.cursors = sqliteCursors(db);
    this.meta = sqliteMeta(db);
    this.work = {
      incoming: sqliteIncoming(db),
      todo: sqliteTodo(db),
      deferred: sqliteDeferred(db),
      doomed: sqliteDoomed(db),
      plan: async (mode) => computePlan(db, mode),
      keptPage: async (afterPath, limit) => keptPage(db, afterPath, limit),
    };
  }

  async integrityCheck(): Promise<string> {
    return this.connection.pragma('quick_check', { simple: true }) as string;
  }

  async close(): Promise<void> {
    this.connection.close();
  }
}

export async function openSqliteState(path: string, opts: OpenOptions = {}): Promise<StateDb> {
  return new SqliteStateDb(await openConnection(path, opts));
}

/** The better-sqlite3 handle of a SQLite state, for tests and benches that inspect or seed tables directly. */
export function sqliteHandle(state: StateDb): Database.Database {
  if (!(state instanceof SqliteStateDb)) throw new Error('not a SQLite state DB');
  return state.connection;
}
