// Every schema migration, in order. The names are known without loading anything; the
// migration modules (and kysely with them) are loaded only when a DB needs upgrading.
import type { Migration } from 'kysely';

export const migrationNames = ['0001_initial', '0002_meta'] as const;

export async function loadMigrations(): Promise<Record<string, Migration>> {
  return {
    '0001_initial': await import('./0001_initial.js'),
    '0002_meta': await import('./0002_meta.js'),
  };
}
