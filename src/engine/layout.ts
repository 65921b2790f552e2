// Where things live under a mirror root: the published tree is `<dest>/`, everything private
// to the tool is under `<dest>/.mirror/` (state DB, lock, scratch dirs, status).
import { join, resolve } from 'node:path';
import { rmSync, mkdirSync } from 'node:fs';
import { PRIVATE_DIR } from './safe-path.js';

export interface Layout {
  dest: string;
  privateDir: string;
  statePath: string;
  lockFile: string;
  tmpDir: string;
  /** Partial downloads kept from one run to the next, to be resumed (see fetch.ts). */
  partialDir: string;
  stagingDir: string;
  statusFile: string;
}

export function layoutFor(dest: string, statePath?: string): Layout {
  const root = resolve(dest);
  const privateDir = join(root, PRIVATE_DIR);
  return {
    dest: root,
    privateDir,
    statePath: statePath ? resolve(statePath) : join(privateDir, 'state.db'),
    lockFile: join(privateDir, 'lock'),
    tmpDir: join(privateDir, 'tmp'),
    partialDir: join(privateDir, 'partial'),
    stagingDir: join(privateDir, 'staging'),
    statusFile: join(privateDir, 'status.json'),
  };
}

/** Removes what a killed run may have left in the scratch dirs and recreates them empty. */
export function resetScratch(layout: Layout): void {
  for (const dir of [layout.tmpDir, layout.stagingDir]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
}

export function removeScratch(layout: Layout): void {
  for (const dir of [layout.tmpDir, layout.stagingDir]) rmSync(dir, { recursive: true, force: true });
}
