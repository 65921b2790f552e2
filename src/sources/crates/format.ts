// crates.io index format: pure functions, no I/O.
//
// - indexPathFor(name): the sharded path of a crate's index file (lowercased name).
// - isIndexPath(path): whether a tree path is a crate index file (not config.json, dotfiles...).
// - expandDl(template, version): the download URL of a .crate, cargo's `dl` rules.
// - parseIndexLine(line): one JSON line -> the fields a mirror needs, or a one-line error.
// - crateFilePath(name, vers): where the .crate lives on the mirror (static.crates.io layout).

/** Crate names as crates.io accepts them (and what we accept from an untrusted index). */
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** A semver string: digits, letters, '.', '-', '+' (pre-release / build metadata). */
const VERSION_RE = /^[0-9A-Za-z.+-]{1,128}$/;
const CKSUM_RE = /^[0-9a-f]{64}$/;

/** The index directory of a name, case preserved: `1`, `2`, `3/<c>`, `<c1c2>/<c3c4>`. */
export function prefixFor(name: string): string {
  switch (name.length) {
    case 0:
      throw new Error('empty crate name');
    case 1:
      return '1';
    case 2:
      return '2';
    case 3:
      return `3/${name[0]}`;
    default:
      return `${name.slice(0, 2)}/${name.slice(2, 4)}`;
  }
}

/** The index file of a crate, e.g. `serde` -> `se/rd/serde`, `MyCrate` -> `my/cr/mycrate`. */
export function indexPathFor(name: string): string {
  const lower = name.toLowerCase();
  return `${prefixFor(lower)}/${lower}`;
}

/**
 * True when `path` (a path in the index tree) is a crate index file at its correct shard.
 * Rejects config.json, README, dotfiles, .github/..., and files at a shard that does not
 * match their name.
 */
export function isIndexPath(path: string): boolean {
  const slash = path.lastIndexOf('/');
  if (slash < 0) return false;
  const name = path.slice(slash + 1);
  if (!NAME_RE.test(name) || name !== name.toLowerCase()) return false;
  return indexPathFor(name) === path;
}

/** The crate name (lowercase) of an index path. */
export function nameOfIndexPath(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export interface DlVersion {
  name: string;
  vers: string;
  cksum: string;
}

const DL_MARKERS = ['{crate}', '{version}', '{prefix}', '{lowerprefix}', '{sha256-checksum}'];

/**
 * A .crate's download URL from a `dl` template, as cargo computes it: markers are replaced;
 * a template with no marker means `<dl>/{crate}/{version}/download`.
 */
export function expandDl(template: string, v: DlVersion): string {
  if (!DL_MARKERS.some((m) => template.includes(m))) {
    return `${template.replace(/\/+$/, '')}/${v.name}/${v.vers}/download`;
  }
  const prefix = prefixFor(v.name);
  return template
    .replaceAll('{crate}', v.name)
    .replaceAll('{version}', v.vers)
    .replaceAll('{prefix}', prefix)
    .replaceAll('{lowerprefix}', prefix.toLowerCase())
    .replaceAll('{sha256-checksum}', v.cksum);
}

/**
 * The `dl` template for a `--crates-base` value: a value with markers is a template as is;
 * a plain base URL serves the static.crates.io layout below it.
 */
export function cratesBaseTemplate(base: string): string {
  if (DL_MARKERS.some((m) => base.includes(m))) return base;
  return `${withSlash(base)}crates/{crate}/{crate}-{version}.crate`;
}

export function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** Where a version's .crate is stored on the mirror (the name as in the index line). */
export function crateFilePath(name: string, vers: string): string {
  return `crates/${name}/${name}-${vers}.crate`;
}

export interface IndexVersion {
  name: string;
  vers: string;
  cksum: string;
  yanked: boolean;
}

export type ParsedLine = { ok: true; version: IndexVersion } | { ok: false; error: string };

/** Parses one index line. Unknown fields are ignored; what a mirror relies on is checked. */
export function parseIndexLine(line: string): ParsedLine {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { ok: false, error: 'not a JSON object' };
  }
  const { name, vers, cksum, yanked } = obj as Record<string, unknown>;
  if (typeof name !== 'string' || !NAME_RE.test(name)) return { ok: false, error: 'bad or missing "name"' };
  if (typeof vers !== 'string' || !VERSION_RE.test(vers) || vers.startsWith('.')) {
    return { ok: false, error: 'bad or missing "vers"' };
  }
  if (typeof cksum !== 'string' || !CKSUM_RE.test(cksum)) return { ok: false, error: 'bad or missing "cksum"' };
  if (yanked !== undefined && yanked !== null && typeof yanked !== 'boolean') {
    return { ok: false, error: 'bad "yanked"' };
  }
  return { ok: true, version: { name, vers, cksum, yanked: yanked === true } };
}

/** One usable line of an index file: the parsed fields and the line's original text. */
export interface IndexLine {
  version: IndexVersion;
  text: string;
  lineNo: number;
}

/**
 * Splits an index file into its valid lines. `onBad(lineNo, error)` is called for each
 * malformed line (blank lines are skipped silently); a line whose name does not belong in
 * this file, or a duplicate version, is malformed too.
 */
export function parseIndexFile(
  path: string,
  content: string,
  onBad: (lineNo: number, error: string) => void,
): IndexLine[] {
  const fileName = nameOfIndexPath(path);
  const out: IndexLine[] = [];
  const seen = new Set<string>();
  let lineNo = 0;
  let start = 0;
  while (start < content.length) {
    let end = content.indexOf('\n', start);
    if (end < 0) end = content.length;
    lineNo++;
    const text = content.slice(start, end).trim();
    start = end + 1;
    if (text === '') continue;
    const parsed = parseIndexLine(text);
    if (!parsed.ok) {
      onBad(lineNo, parsed.error);
      continue;
    }
    const v = parsed.version;
    if (v.name.toLowerCase() !== fileName) {
      onBad(lineNo, `crate "${v.name}" does not belong in this file`);
      continue;
    }
    if (seen.has(v.vers)) {
      onBad(lineNo, `duplicate version ${v.vers}`);
      continue;
    }
    seen.add(v.vers);
    out.push({ version: v, text, lineNo });
  }
  return out;
}

