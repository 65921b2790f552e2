// Which files a bundle holds. Full bundle: every file of the mirror as it is on disk. With
// `--since RUN`: the files the state DB records as written (downloaded or published) by a later
// run, plus the paths the audit manifest records as deleted by a later run and absent now. When
// the mirror has a state DB, the mirror lock is held while listing, and the bundle records the
// last run it includes (the RUN to pass as --since next time).
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { layoutFor, lockMirror } from '../../engine/layout.js';
import { openStateDb } from '../../state/db.js';
import { readManifest } from '../manifest/manifest.js';
import { walkMirror, type MirrorFile } from '../walk.js';

export interface BundleMembers {
  files: MirrorFile[];
  deleted: string[];
  run: number | null;
}

export async function bundleMembers(root: string, since: number | null, statePath?: string): Promise<BundleMembers> {
  const layout = layoutFor(root, statePath);
  if (!existsSync(layout.statePath)) {
    if (since !== null) throw new UsageError(`--since needs the state DB, and ${layout.statePath} does not exist`);
    const listing = await walkMirror(root);
    return { files: listing.files, deleted: [], run: null };
  }
  const lock = lockMirror(layout, 'bundle');
  const state = await openStateDb(layout.statePath, { readonly: true });
  try {
    const run = await state.runs.lastEnded();
    if (since === null) {
      const listing = await walkMirror(root);
      return { files: listing.files, deleted: [], run };
    }
    if (!(await state.runs.exists(since))) throw new UsageError(`--since ${since}: no such run in ${layout.statePath}`);
    const paths = await state.files.presentWrittenAfter(since);
    const files: MirrorFile[] = [];
    for (const path of paths) {
      const st = await fs.stat(join(root, path)).catch(() => null);
      if (!st?.isFile()) throw new UsageError(`${path} is recorded as present but missing on disk; run 'mirror verify --repair' first`);
      files.push({ path, size: st.size, mtimeMs: st.mtimeMs });
    }
    const deletedSince = new Set<string>();
    for await (const r of readManifest(layout.privateDir)) {
      if (r.type === 'file' && r.outcome === 'deleted' && r.run > since) deletedSince.add(r.path);
    }
    const present = await state.files.presentAmong([...deletedSince]);
    const deleted = [...deletedSince].filter((path) => !present.has(path));
    return { files, deleted: deleted.sort(), run };
  } finally {
    await state.close();
    lock.release();
  }
}
