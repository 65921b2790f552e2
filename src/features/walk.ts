// Lists the files of a mirror directory: regular files only, '/'-separated relative paths in
// byte order, never descending into the private `<root>/.mirror/`. Symlinks and special files
// are reported separately (they are not part of what the engine writes).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_DIR } from '../engine/safe-path.js';

export interface MirrorFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface MirrorListing {
  files: MirrorFile[];
  bytes: number;
  /** Paths that are neither regular files nor directories (symlinks, sockets...). */
  skipped: string[];
}

export async function walkMirror(root: string): Promise<MirrorListing> {
  const files: MirrorFile[] = [];
  const skipped: string[] = [];
  let bytes = 0;
  const pending: string[] = [''];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const entries = await fs.readdir(join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (rel === '' && e.name === PRIVATE_DIR) continue;
      if (e.isDirectory()) pending.push(path);
      else if (e.isFile()) {
        const st = await fs.stat(join(root, path));
        files.push({ path, size: st.size, mtimeMs: st.mtimeMs });
        bytes += st.size;
      } else skipped.push(path);
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, bytes, skipped: skipped.sort() };
}
