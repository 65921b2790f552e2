// Which index files of a suite the mirror needs, from its Release listing.
//
// Contract: `selectIndexes` picks, for the chosen components and architectures, the
// binary-<arch>/ Packages variants and Release, plus source/ (with --sources), i18n/Translation-
// <lang> (with --translation) and Contents-* (with --contents), every compression the Release
// lists. It groups variants of one index into a family (e.g. main/binary-amd64/Packages with
// .gz and .xz) and throws SelectionError when a chosen component/architecture has no Packages.
import { UsageError } from '../../errors.js';
import type { Release, ReleaseFile } from './release.js';
import { codecOf } from './codec.js';

/** The operator asked for a component / architecture the suite does not have (exit 2). */
export class SelectionError extends UsageError {}

export type FamilyKind = 'packages' | 'sources' | 'other';

export interface IndexFamily {
  /** Path without compression suffix, relative to dists/<suite>/. */
  base: string;
  kind: FamilyKind;
  /** Every variant the Release lists, readable ones first, cheapest to parse first (plain, gz, xz). */
  variants: ReleaseFile[];
}

export interface Selection {
  components: string[];
  arches: string[];
  sources: boolean;
  translations: string[];
  contents: boolean;
}

const COMPRESSION = /\.(gz|xz|bz2|lzma|lz4|zst)$/;
// Parse preference: cheapest to read first (no decompression, then in-process zlib, then the xz CLI).
const PREFERENCE: Record<string, number> = { plain: 0, gz: 1, xz: 2 };

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function selectIndexes(release: Release, sel: Selection): IndexFamily[] {
  const patterns: Array<{ re: RegExp; kind: FamilyKind }> = [];
  const ext = '(\\.(gz|xz|bz2|lzma|lz4|zst))?';
  for (const c of sel.components.map(escape)) {
    for (const a of sel.arches.map(escape)) {
      patterns.push({ re: new RegExp(`^${c}/binary-${a}/Packages${ext}$`), kind: 'packages' });
      patterns.push({ re: new RegExp(`^${c}/binary-${a}/Release$`), kind: 'other' });
      if (sel.contents) patterns.push({ re: new RegExp(`^(${c}/)?Contents-${a}${ext}$`), kind: 'other' });
    }
    if (sel.sources) {
      patterns.push({ re: new RegExp(`^${c}/source/Sources${ext}$`), kind: 'sources' });
      patterns.push({ re: new RegExp(`^${c}/source/Release$`), kind: 'other' });
      if (sel.contents) patterns.push({ re: new RegExp(`^(${c}/)?Contents-source${ext}$`), kind: 'other' });
    }
    for (const lang of sel.translations.map(escape)) {
      patterns.push({ re: new RegExp(`^${c}/i18n/Translation-${lang}${ext}$`), kind: 'other' });
    }
  }
  const families = new Map<string, IndexFamily>();
  for (const file of release.files.values()) {
    const match = patterns.find((p) => p.re.test(file.path));
    if (!match) continue;
    const base = file.path.replace(COMPRESSION, '');
    const family = families.get(base) ?? { base, kind: match.kind, variants: [] };
    family.variants.push(file);
    families.set(base, family);
  }
  for (const c of sel.components) {
    for (const a of sel.arches) {
      if (!families.has(`${c}/binary-${a}/Packages`)) {
        throw new SelectionError(`the Release lists no ${c}/binary-${a}/Packages (Components: ${release.components.join(' ') || '-'}; Architectures: ${release.architectures.join(' ') || '-'})`);
      }
    }
    if (sel.sources && !families.has(`${c}/source/Sources`)) {
      throw new SelectionError(`the Release lists no ${c}/source/Sources`);
    }
  }
  for (const f of families.values()) f.variants.sort((x, y) => rank(x.path) - rank(y.path) || (x.path < y.path ? -1 : 1));
  return [...families.values()].sort((x, y) => (x.base < y.base ? -1 : 1));
}

function rank(path: string): number {
  const codec = codecOf(path);
  return codec === null ? 9 : PREFERENCE[codec];
}
