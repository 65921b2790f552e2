// Path checks for names taken from upstream apt metadata (Release, Packages, Sources).
//
// Contract: `isSafeRelPath` accepts only relative, '/'-separated paths without empty, '.' or
// '..' segments, backslashes, NUL or control characters. The adapter applies it before it
// touches the local filesystem with an upstream-provided name; the engine checks again.

export function isSafeRelPath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\') || /[\x00-\x1f\x7f]/.test(p)) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** A single path segment (a file name): safe and without '/'. */
export function isSafeName(p: string): boolean {
  return !p.includes('/') && isSafeRelPath(p);
}
