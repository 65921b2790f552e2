// Upstream names are hostile until checked. `checkRelativePath` accepts only a plain relative
// path ('/'-separated, no '..', '.', empty segment, absolute form, backslash, NUL or control
// character, no segment over 255 bytes, nothing inside the private dir). Pure: the engine, the
// sources and the features all use it.

export const PRIVATE_DIR = '.mirror';

/** Returns a reason when `path` is unsafe, or null when it is a clean relative path. */
export function checkRelativePath(path: string): string | null {
  if (path.length === 0) return 'empty path';
  if (path.includes('\0')) return 'NUL byte in path';
  if (path.includes('\\')) return 'backslash in path';
  if (/[\x00-\x1f\x7f]/.test(path)) return 'control character in path';
  if (path.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'drive-letter path';
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return `'${segment}' segment in path`;
    if (Buffer.byteLength(segment) > 255) return 'path segment longer than 255 bytes';
  }
  if (segments[0].toLowerCase() === PRIVATE_DIR) return `path inside the private ${PRIVATE_DIR}/ directory`;
  return null;
}
