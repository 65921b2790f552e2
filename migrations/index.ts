// Every schema migration, in order. The names are known without loading anything; the
// migration modules (and kysely with them) are loaded only when a DB needs upgrading.
import type { Migration } from 'kysely';

const loaders: Record<string, () => Promise<Migration>> = {
  '0001_initial': () => import('./0001_initial.js'),
  '0002_meta': () => import('./0002_meta.js'),
};

export const migrationNames: readonly string[] = Object.keys(loaders);

export async function loadMigrations(): Promise<Record<string, Migration>> {
  const entries = await Promise.all(migrationNames.map(async (name) => [name, await loaders[name]()] as const));
  return Object.fromEntries(entries);
}
