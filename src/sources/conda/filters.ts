// Partial-mirror filters: package-name globs (--include / --exclude) and --keep-latest N.
//
// Names match case-insensitively against glob patterns (`*` any run, `?` one character).
// A name is mirrored when it matches some include pattern (or there are none) and no exclude
// pattern. --keep-latest N keeps, per package name, every build of the N highest distinct
// versions under conda's version ordering.
import { compareCondaVersions } from './version-order.js';

export interface NameFilter {
  readonly active: boolean;
  accepts(name: string): boolean;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

export function nameFilter(include: readonly string[], exclude: readonly string[]): NameFilter {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  return {
    active: inc.length > 0 || exc.length > 0,
    accepts: (name) => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name)),
  };
}

/** Collects (name, version, filename) triples and picks the files of the N latest versions. */
export class LatestVersions {
  private readonly byName = new Map<string, Array<{ version: string; filename: string }>>();

  constructor(private readonly keep: number) {}

  add(name: string, version: string, filename: string): void {
    let list = this.byName.get(name);
    if (!list) this.byName.set(name, (list = []));
    list.push({ version, filename });
  }

  /** The filenames to keep; the collected data is released. */
  select(): Set<string> {
    const kept = new Set<string>();
    for (const list of this.byName.values()) {
      list.sort((a, b) => compareCondaVersions(b.version, a.version));
      let distinct = 0;
      let previous: string | null = null;
      for (const { version, filename } of list) {
        if (previous === null || compareCondaVersions(previous, version) !== 0) {
          distinct++;
          previous = version;
        }
        if (distinct > this.keep) break;
        kept.add(filename);
      }
    }
    this.byName.clear();
    return kept;
  }
}
