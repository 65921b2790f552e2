// What an opam file (or an old-style `url` file) says about its downloads, read from the syntax
// tree of syntax.ts. Every field not named here is ignored.
//
// Download sources: the `url { }` section and every `extra-source "<name>" { }` section, each with
//   - the address: `src:` (opam 2), or the old `archive:` / `http:` (http) and `git:` / `hg:` /
//     `darcs:` / `local:` (never cacheable) forms;
//   - `checksum:` a string or a list of strings, `<kind>=<hex>` with kind md5, sha256 or sha512,
//     or a bare hex string, which is md5. The order is kept: a client asks archive caches for
//     the first one;
//   - `mirrors:` more addresses of the same archive.
// A source is cacheable when it has a checksum and an http(s) address that is not a version
// control repository (`git+https://…`, `git://…`; like opam reading a file, a `.git` suffix alone
// does not make one); otherwise it carries the reason it is
// not. A checksum that is not well-formed hex of its kind's length, or a malformed section,
// throws OpamFormatError with the line: the whole file is refused (a client would refuse it too).
import { printable, type OpamItem, type OpamValue } from './syntax.js';

export type HashKind = 'md5' | 'sha256' | 'sha512';

/** Length of each kind's hex digest. */
export const HASH_HEX_LENGTH: Record<HashKind, number> = { md5: 32, sha256: 64, sha512: 128 };

export interface OpamHash {
  kind: HashKind;
  /** The digest as written in the file (a client asks caches for this exact text). */
  hex: string;
}

export interface DownloadSource {
  /** null for the `url` section, the file name for an `extra-source`. */
  name: string | null;
  url: string;
  mirrors: string[];
  /** In file order. */
  hashes: OpamHash[];
  /** Why a cache cannot hold this source; undefined when it can. */
  uncacheable?: string;
  line: number;
}

export class OpamFormatError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const ADDRESS_FIELDS = ['src', 'archive', 'http', 'git', 'hg', 'darcs', 'local'] as const;
const VCS_FIELDS = new Set(['git', 'hg', 'darcs']);

/** The download sources of a parsed opam file (url section first, then extra-sources in order). */
export function opamDownloads(items: OpamItem[]): DownloadSource[] {
  const out: DownloadSource[] = [];
  let url: OpamItem | undefined;
  for (const item of items) {
    if (item.type !== 'section') continue;
    if (item.kind === 'url') {
      if (url) throw new OpamFormatError('a second url section', item.line);
      if (item.name !== null) throw new OpamFormatError('the url section takes no name', item.line);
      url = item;
      out.unshift(sectionSource(null, item.items, item.line));
    } else if (item.kind === 'extra-source') {
      if (item.name === null) throw new OpamFormatError('extra-source needs a file name', item.line);
      if (!isPlainFileName(item.name)) throw new OpamFormatError(`extra-source name '${printable(item.name)}' is not a plain file name`, item.line);
      out.push(sectionSource(item.name, item.items, item.line));
    }
  }
  return out;
}

/** The source described by an old-style (opam 1.2) `url` file next to an `opam` file. */
export function urlFileDownload(items: OpamItem[]): DownloadSource {
  return sectionSource(null, items, items[0]?.line ?? 1);
}

function sectionSource(name: string | null, items: OpamItem[], line: number): DownloadSource {
  const fields = new Map<string, OpamItem & { type: 'field' }>();
  for (const item of items) {
    if (item.type !== 'field') continue;
    if (fields.has(item.name)) throw new OpamFormatError(`field '${printable(item.name)}' given twice`, item.line);
    fields.set(item.name, item);
  }
  const given = ADDRESS_FIELDS.filter((f) => fields.has(f));
  if (given.length === 0) throw new OpamFormatError(`no address (src:) in the ${name === null ? 'url' : 'extra-source'} section`, line);
  if (given.length > 1) throw new OpamFormatError(`both ${given[0]}: and ${given[1]}: given`, fields.get(given[1])!.line);
  const addressField = fields.get(given[0])!;
  const url = stringOf(addressField.value, `${given[0]}:`);
  const checksum = fields.get('checksum');
  const hashes = checksum ? strings(checksum.value, 'checksum:').map((s) => parseHash(s, checksum.line)) : [];
  const mirrorsField = fields.get('mirrors');
  const mirrors = mirrorsField ? strings(mirrorsField.value, 'mirrors:') : [];
  const source: DownloadSource = { name, url, mirrors, hashes, line };
  const why = VCS_FIELDS.has(given[0]) ? 'a version control repository' : given[0] === 'local' ? 'a local path' : notCacheable(url);
  if (why) source.uncacheable = why;
  else if (hashes.length === 0) source.uncacheable = 'no checksum';
  return source;
}

/** Why a `src` address cannot be mirrored by hash, the way opam reads an address; null when it can. */
export function notCacheable(url: string): string | null {
  const scheme = url.match(/^([A-Za-z][A-Za-z0-9+.-]*):\/\//)?.[1]?.toLowerCase();
  if (scheme === undefined) return 'a local path';
  const [backend, transport = backend] = scheme.includes('+') ? scheme.split('+', 2) : [scheme];
  if (['git', 'hg', 'darcs'].includes(backend)) return 'a version control repository';
  if (backend !== 'http' && backend !== 'https') return `a ${printable(scheme)} address`;
  if (transport !== 'http' && transport !== 'https') return `a ${printable(scheme)} address`;
  try {
    new URL(url);
  } catch {
    return 'a malformed address';
  }
  return null;
}

/** `<kind>=<hex>` or a bare md5 hex string. */
export function parseHash(text: string, line: number): OpamHash {
  const eq = text.indexOf('=');
  const kind = eq < 0 ? 'md5' : text.slice(0, eq);
  const hex = eq < 0 ? text : text.slice(eq + 1);
  if (!(kind in HASH_HEX_LENGTH)) throw new OpamFormatError(`unknown checksum kind '${printable(kind)}'`, line);
  const length = HASH_HEX_LENGTH[kind as HashKind];
  if (hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new OpamFormatError(`checksum '${printable(text)}' is not ${length} hex digits of ${kind}`, line);
  }
  return { kind: kind as HashKind, hex };
}

/** A name a client may write in its build directory: one path segment, nothing special. */
function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\x00-\x1f]/.test(name);
}

function stringOf(value: OpamValue, what: string): string {
  if (value.type !== 'string') throw new OpamFormatError(`${what} must be a string`, value.line);
  return value.value;
}

/** A string or a list of strings (opam lets a one-element list be written without brackets). */
function strings(value: OpamValue, what: string): string[] {
  if (value.type === 'list') return value.items.map((v) => stringOf(v, `${what} entries`));
  return [stringOf(value, what)];
}
