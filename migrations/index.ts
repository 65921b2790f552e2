// Every schema migration, in order. The Migrator applies the ones a DB has not seen yet.
import type { Migration } from 'kysely';
import * as initial from './0001_initial.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
};
