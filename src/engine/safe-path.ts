// `SafeTree` creates / walks directories under the mirror root without ever following a symlink
// planted inside it. (`checkRelativePath`, the check of an upstream name, is the model's:
// model/safe-path.ts; re-exported here for the engine.)
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export { checkRelativePath, PRIVATE_DIR } from '../model/safe-path.js';

export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
}

/** A file of the mirror stands where a directory is needed (upstream turned `a` into `a/b`). */
export class FileInTheWayError extends UnsafePathError {
  constructor(readonly blocker: string) {
    super(`'${blocker}' is a file where a directory is needed`);
  }
}

/** Whether a placement failed because the old tree is in the way (a file or a directory where the other is needed). */
export function isTreeConflict(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return err instanceof FileInTheWayError || code === 'EISDIR' || code === 'ENOTEMPTY';
}

/**
 * Directories under `root` known to be real directories (not symlinks) during this process.
 * Every directory on the way to a file is checked once with lstat, then cached.
 */
export class SafeTree {
  private readonly checked = new Set<string>();

  constructor(readonly root: string) {}

  /** Absolute path for a checked relative path. */
  resolve(rel: string): string {
    return join(this.root, rel);
  }

  /** Makes every parent directory of `rel` (a file path), refusing symlinks and non-dirs. */
  ensureParentDirs(rel: string): void {
    this.walkParents(rel, true);
  }

  /**
   * True when every parent directory of `rel` exists as a real directory; false when one is
   * missing or is not a directory we may walk through (a symlink, a file).
   */
  parentsAreSafe(rel: string): boolean {
    try {
      return this.walkParents(rel, false);
    } catch (err) {
      if (err instanceof UnsafePathError) return false;
      throw err;
    }
  }

  /** Forgets what was checked under `prefix` (after a directory there was removed). */
  forget(prefix: string): void {
    for (const dir of this.checked) if (dir === prefix || dir.startsWith(`${prefix}/`)) this.checked.delete(dir);
  }

  private walkParents(rel: string, create: boolean): boolean {
    const segments = rel.split('/');
    let prefix = '';
    for (let i = 0; i < segments.length - 1; i++) {
      prefix = prefix ? `${prefix}/${segments[i]}` : segments[i];
      if (this.checked.has(prefix)) continue;
      const abs = join(this.root, prefix);
      // A missing directory is the common case of a first sync: no exception for it.
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (st === undefined) {
        if (!create) return false;
        mkdirSync(abs);
        this.checked.add(prefix);
        continue;
      }
      if (st.isSymbolicLink()) throw new UnsafePathError(`'${prefix}' is a symlink inside the mirror; refusing to follow it`);
      if (!st.isDirectory()) throw new FileInTheWayError(prefix);
      this.checked.add(prefix);
    }
    return true;
  }
}
