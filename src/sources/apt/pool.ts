// Pool files named by Packages and Sources stanzas.
//
// Contract: `packageFile` reads one binary stanza (Filename, Size, MD5sum/SHA1/SHA256/SHA512)
// and `sourceFiles` one source stanza (Directory plus Files / Checksums-Sha1 / -Sha256 /
// -Sha512 lines `<hex> <size> <name>`). Both return archive-root-relative paths with size and
// every checksum given, or a one-line problem string. A file without a SHA256 sum, an unsafe
// path, or a path under dists/ is a problem: pool files must never overwrite suite metadata.
import type { Checksums, ChecksumAlgo } from '../types.js';
import type { Stanza } from './deb822.js';
import { isSafeName, isSafeRelPath } from './paths.js';

export interface PoolFile {
  path: string;
  size: number;
  checksums: Checksums;
}

const HEX_LENGTH: Record<ChecksumAlgo, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };
const BINARY_FIELDS: Array<[string, ChecksumAlgo]> = [
  ['md5sum', 'md5'],
  ['sha1', 'sha1'],
  ['sha256', 'sha256'],
  ['sha512', 'sha512'],
];
const SOURCE_FIELDS: Array<[string, ChecksumAlgo]> = [
  ['files', 'md5'],
  ['checksums-sha1', 'sha1'],
  ['checksums-sha256', 'sha256'],
  ['checksums-sha512', 'sha512'],
];

function checkPath(path: string): string | null {
  if (!isSafeRelPath(path)) return `unsafe file name '${path}'`;
  if (path === 'dists' || path.startsWith('dists/')) return `file name '${path}' points into dists/`;
  return null;
}

function validHex(algo: ChecksumAlgo, hex: string): boolean {
  return hex.length === HEX_LENGTH[algo] && /^[0-9a-fA-F]+$/.test(hex);
}

function where(stanza: Stanza): string {
  return `stanza at line ${stanza.line} (${stanza.fields.get('package') ?? '?'})`;
}

export function packageFile(stanza: Stanza): PoolFile | string {
  const f = stanza.fields;
  const path = f.get('filename');
  if (!path) return `${where(stanza)}: no Filename`;
  const bad = checkPath(path);
  if (bad) return `${where(stanza)}: ${bad}`;
  const sizeText = f.get('size') ?? '';
  if (!/^\d+$/.test(sizeText)) return `${where(stanza)}: bad Size '${sizeText}'`;
  const checksums: Checksums = {};
  for (const [field, algo] of BINARY_FIELDS) {
    const hex = f.get(field);
    if (hex === undefined) continue;
    if (!validHex(algo, hex)) return `${where(stanza)}: bad ${field} '${hex}'`;
    checksums[algo] = hex.toLowerCase();
  }
  if (!checksums.sha256) return `${where(stanza)}: no SHA256`;
  return { path, size: Number(sizeText), checksums };
}

export function sourceFiles(stanza: Stanza): PoolFile[] | string {
  const f = stanza.fields;
  const dir = f.get('directory');
  if (!dir) return `${where(stanza)}: no Directory`;
  const badDir = checkPath(dir);
  if (badDir) return `${where(stanza)}: ${badDir}`;
  const byName = new Map<string, PoolFile>();
  for (const [field, algo] of SOURCE_FIELDS) {
    const lines = f.get(field);
    if (lines === undefined) continue;
    for (const line of lines.split('\n')) {
      if (line === '') continue;
      const m = line.match(/^(\S+)\s+(\d+)\s+(\S+)$/);
      if (!m || !validHex(algo, m[1])) return `${where(stanza)}: bad ${field} line '${line}'`;
      const [, hex, sizeText, name] = m;
      if (!isSafeName(name)) return `${where(stanza)}: unsafe file name '${name}'`;
      const size = Number(sizeText);
      const entry = byName.get(name) ?? { path: `${dir}/${name}`, size, checksums: {} };
      if (entry.size !== size) return `${where(stanza)}: ${name} listed with sizes ${entry.size} and ${size}`;
      entry.checksums[algo] = hex.toLowerCase();
      byName.set(name, entry);
    }
  }
  if (byName.size === 0) return `${where(stanza)}: no files listed`;
  for (const file of byName.values()) {
    if (!file.checksums.sha256) return `${where(stanza)}: ${file.path} has no Checksums-Sha256 line`;
  }
  return [...byName.values()];
}
