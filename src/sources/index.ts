// The registry of source adapters: the only place that names every registry.
// Adding a registry = one module under src/sources/ plus one line here.
import type { Source } from './types.js';
import { listSource } from './list.js';
import { aptSource } from './apt/index.js';
import { condaSource } from './conda/index.js';
import { cratesSource } from './crates/index.js';
import { rustupSource } from './rustup/index.js';

export const sources: readonly Source[] = [listSource, aptSource, condaSource, cratesSource, rustupSource];

export function findSource(kind: string): Source | undefined {
  return sources.find((s) => s.kind === kind);
}
