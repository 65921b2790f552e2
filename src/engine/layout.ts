// Where things live under a mirror root: the published tree is `<dest>/`, everything private
// to the tool is under `<dest>/.mirror/` (state DB, lock, scratch dirs, status). The private
// tree is never followed through a symlink: `lockMirror` checks it before a command writes.
import { join, resolve } from 'node:path';
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { MirrorLock } from './lock.js';
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

/**
 * Takes the mirror's lock, after making `<dest>/.mirror` if missing and checking that neither it,
 * nor any entry in it, nor any file in `partial/` or `bundles/` is a symlink or another special
 * file: one planted there would turn a write, an append or a deletion of the run into one
 * outside the mirror. The first offender is refused with a UsageError, before anything is written.
 */
export function lockMirror(layout: Layout, command: string): MirrorLock {
  mkdirSync(layout.dest, { recursive: true });
  if (requirePlain(layout.privateDir) === 'missing') mkdirSync(layout.privateDir);
  for (const name of readdirSync(layout.privateDir)) requirePlain(join(layout.privateDir, name));
  for (const dir of [layout.partialDir, join(layout.privateDir, 'bundles')]) {
    if (requirePlain(dir) !== 'missing') for (const name of readdirSync(dir)) requirePlain(join(dir, name), 'file');
  }
  return MirrorLock.acquire(layout.lockFile, command);
}

function requirePlain(path: string, only?: 'file'): 'missing' | 'present' {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return 'missing';
  const what = st.isSymbolicLink() ? 'a symlink' : st.isFile() || (st.isDirectory() && !only) ? null : 'not a regular file';
  if (what) throw new UsageError(`${path} is ${what} inside the mirror's private directory; refusing to follow it (remove it)`);
  return 'present';
}
