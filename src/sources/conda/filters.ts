// Partial-mirror filter --keep-latest N (the name globs are src/sources/name-filter.ts): per
// package name, it keeps every build of the N highest distinct versions under conda's version
// ordering.
import { compareCondaVersions } from './version-order.js';

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
