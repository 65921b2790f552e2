// Release files: the signed root of an apt suite.
//
// Contract: `parseRelease` turns the (already signature-checked) Release text into its plain
// fields and one entry per listed file, merging the MD5Sum/SHA1/SHA256/SHA512 sections. It
// throws ReleaseError on anything that would make the listing untrustworthy: no SHA256
// section, a malformed hash line, an unsafe path, sizes that disagree between sections.
// `renderRelease` writes a Release for a regenerated (filtered) suite: the original plain
// fields in their order, then one hash section per algorithm, every file listed in each.
import type { Checksums, ChecksumAlgo } from '../types.js';
import { parseStanzas } from './deb822.js';
import { isSafeRelPath } from './paths.js';

export class ReleaseError extends Error {}

/** Release hash-section names, strongest last; the by-hash directory uses the same spelling. */
export const HASH_SECTIONS: ReadonlyArray<{ field: string; algo: ChecksumAlgo; hexLength: number }> = [
  { field: 'MD5Sum', algo: 'md5', hexLength: 32 },
  { field: 'SHA1', algo: 'sha1', hexLength: 40 },
  { field: 'SHA256', algo: 'sha256', hexLength: 64 },
  { field: 'SHA512', algo: 'sha512', hexLength: 128 },
];

export interface ReleaseFile {
  /** Path relative to dists/<suite>/. */
  path: string;
  size: number;
  checksums: Checksums;
}

export interface Release {
  /** Plain (non-hash) fields in original order: [name as spelled, value]. */
  fields: Array<[string, string]>;
  files: Map<string, ReleaseFile>;
  /** Hash algorithms listed, weakest first. */
  algos: ChecksumAlgo[];
  acquireByHash: boolean;
  architectures: string[];
  components: string[];
}

export function parseRelease(text: string): Release {
  const problems: string[] = [];
  const stanzas = parseStanzas(text, (m) => problems.push(m));
  if (problems.length > 0) throw new ReleaseError(`malformed Release: ${problems[0]}`);
  if (stanzas.length !== 1) throw new ReleaseError(`malformed Release: expected one stanza, found ${stanzas.length}`);
  const stanza = stanzas[0];
  const hashFields = new Set(HASH_SECTIONS.map((h) => h.field.toLowerCase()));
  const fields: Array<[string, string]> = [];
  for (const name of stanza.order) {
    if (!hashFields.has(name.toLowerCase())) fields.push([name, stanza.fields.get(name.toLowerCase()) ?? '']);
  }
  const files = new Map<string, ReleaseFile>();
  const algos: ChecksumAlgo[] = [];
  for (const { field, algo, hexLength } of HASH_SECTIONS) {
    const section = stanza.fields.get(field.toLowerCase());
    if (section === undefined) continue;
    algos.push(algo);
    for (const line of section.split('\n')) {
      if (line === '') continue;
      const m = line.match(/^([0-9a-fA-F]+)\s+(\d+)\s+(\S+)$/);
      if (!m || m[1].length !== hexLength) throw new ReleaseError(`malformed ${field} line in Release: '${line}'`);
      const [, hex, sizeText, path] = m;
      if (!isSafeRelPath(path)) throw new ReleaseError(`unsafe path in Release ${field}: '${path}'`);
      const size = Number(sizeText);
      if (!Number.isSafeInteger(size)) throw new ReleaseError(`bad size in Release ${field}: '${line}'`);
      const entry = files.get(path) ?? { path, size, checksums: {} };
      if (entry.size !== size) throw new ReleaseError(`Release lists ${path} with sizes ${entry.size} and ${size}`);
      entry.checksums[algo] = hex.toLowerCase();
      files.set(path, entry);
    }
  }
  if (!algos.includes('sha256')) throw new ReleaseError('Release has no SHA256 section (MD5/SHA1 alone are not trusted)');
  for (const f of files.values()) {
    if (!f.checksums.sha256) throw new ReleaseError(`Release lists ${f.path} without a SHA256 sum`);
  }
  const field = (name: string) => stanza.fields.get(name.toLowerCase());
  const words = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);
  return {
    fields,
    files,
    algos,
    acquireByHash: (field('Acquire-By-Hash') ?? '').toLowerCase() === 'yes',
    architectures: words(field('Architectures')),
    components: words(field('Components')),
  };
}

/** The strongest algorithm the Release lists: apt asks by-hash/<its section name>/<hex>. */
export function byHashAlgo(release: Release): { field: string; algo: ChecksumAlgo } {
  const strongest = [...HASH_SECTIONS].reverse().find((h) => release.algos.includes(h.algo));
  return strongest!; // parseRelease guarantees sha256
}

/** True when both Releases say the same thing (plain fields and every file's checksums). */
export function sameRelease(a: Release, b: Release): boolean {
  if (JSON.stringify(a.fields) !== JSON.stringify(b.fields)) return false;
  if (a.files.size !== b.files.size) return false;
  for (const [path, fa] of a.files) {
    const fb = b.files.get(path);
    if (!fb || fb.size !== fa.size) return false;
    for (const algo of Object.keys(fa.checksums) as ChecksumAlgo[]) {
      if (fb.checksums[algo] !== fa.checksums[algo]) return false;
    }
  }
  return true;
}

/**
 * Renders a Release: `fields` (multi-line values continued with a leading space), then the
 * hash sections for `algos` in canonical order, files sorted by path.
 */
export function renderRelease(fields: Array<[string, string]>, files: ReleaseFile[], algos: ChecksumAlgo[]): string {
  const out: string[] = [];
  for (const [name, value] of fields) {
    const [first, ...rest] = value.split('\n');
    out.push(`${name}: ${first}`.trimEnd());
    for (const r of rest) out.push(` ${r === '' ? '.' : r}`);
  }
  const sorted = [...files].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  const width = Math.max(0, ...sorted.map((f) => String(f.size).length));
  for (const { field, algo } of HASH_SECTIONS) {
    if (!algos.includes(algo)) continue;
    out.push(`${field}:`);
    for (const f of sorted) {
      const hex = f.checksums[algo];
      if (!hex) throw new ReleaseError(`no ${field} sum for ${f.path}`);
      out.push(` ${hex} ${String(f.size).padStart(width)} ${f.path}`);
    }
  }
  return out.join('\n') + '\n';
}
