// Path checks for names taken from upstream apt metadata (Release, Packages, Sources), applied
// before the adapter touches the local filesystem with an upstream-provided name. The rules are
// the engine's own (checkRelativePath); the engine checks every emitted path again.
import { checkRelativePath } from '../../model/safe-path.js';

export function isSafeRelPath(p: string): boolean {
  return checkRelativePath(p) === null;
}

/** A single path segment (a file name): safe and without '/'. */
export function isSafeName(p: string): boolean {
  return !p.includes('/') && isSafeRelPath(p);
}
