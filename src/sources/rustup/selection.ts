// What a rustup mirror keeps: which targets, packages and archive formats of a release, and
// which dated releases of each channel (retention). Pure functions, no I/O.
//
// Contract:
// - `targetFilter(specs)`: a spec is a full triple or an alias: `linux`, `windows`, `darwin`
//   (also `macos`, `apple`), `all`. Target '*' (rust-src and other target-independent packages)
//   always passes.
// - `packageFilter(include, exclude, renames)`: package names or their old names (`clippy` means
//   `clippy-preview` when the manifest renames it); no include list = every package.
// - `archivesOf(target, format)`: `xz` keeps what rustup downloads (xz, or gz when a manifest
//   has no xz), `gz` the gz archive, `both` both.
// - `selectReleases(releases, policy)`: per channel, the `keep` latest dates (counted over what
//   upstream lists, never by the local clock; 'all' keeps every one), plus every date on or after
//   `since`, plus pinned dates. Channels not asked for are never kept.
import type { ArchiveRef, PackageTarget } from './manifest.js';

export type Channel = 'stable' | 'beta' | 'nightly';
export const CHANNELS: readonly Channel[] = ['stable', 'beta', 'nightly'];
export type Format = 'xz' | 'gz' | 'both';

export interface Release {
  channel: Channel;
  date: string;
}

const ALIASES: Record<string, (triple: string) => boolean> = {
  all: () => true,
  linux: (t) => t.includes('-linux'),
  windows: (t) => t.includes('-windows'),
  darwin: (t) => t.endsWith('-apple-darwin'),
  macos: (t) => t.endsWith('-apple-darwin'),
  apple: (t) => t.includes('-apple-'),
};

export const TARGET_ALIASES = Object.keys(ALIASES);
const TRIPLE = /^[a-z0-9_]+(-[a-z0-9_.]+){1,4}$/;

/** Throws on a spec that is neither an alias nor shaped like a triple. */
export function targetFilter(specs: readonly string[]): (target: string) => boolean {
  const exact = new Set<string>();
  const tests: Array<(t: string) => boolean> = [];
  for (const spec of specs) {
    const alias = ALIASES[spec.toLowerCase()];
    if (alias) tests.push(alias);
    else if (TRIPLE.test(spec)) exact.add(spec);
    else throw new Error(`'${spec}' is neither a target triple nor one of ${TARGET_ALIASES.join(', ')}`);
  }
  return (target) => target === '*' || exact.has(target) || tests.some((t) => t(target));
}

export function packageFilter(include: readonly string[], exclude: readonly string[], renames: ReadonlyMap<string, string>): (pkg: string) => boolean {
  const canonical = (name: string) => renames.get(name) ?? name;
  const inc = new Set(include.map(canonical));
  const exc = new Set(exclude.map(canonical));
  return (pkg) => (inc.size === 0 || inc.has(pkg)) && !exc.has(pkg);
}

export function archivesOf(target: PackageTarget, format: Format): ArchiveRef[] {
  if (!target.available) return [];
  const out: ArchiveRef[] = [];
  if (format === 'both' || format === 'gz' || !target.xz) out.push(target.gz!);
  if (format !== 'gz' && target.xz) out.push(target.xz);
  return out;
}

export interface RetentionPolicy {
  channels: ReadonlySet<Channel>;
  keep: Record<Channel, number | 'all'>;
  since: string | null;
  pinnedDates: ReadonlySet<string>;
}

/** The kept releases, newest first within each channel (stable, beta, nightly order). */
export function selectReleases(releases: readonly Release[], policy: RetentionPolicy): Release[] {
  const out: Release[] = [];
  for (const channel of CHANNELS) {
    if (!policy.channels.has(channel)) continue;
    const dates = [...new Set(releases.filter((r) => r.channel === channel).map((r) => r.date))].sort().reverse();
    const keep = policy.keep[channel];
    dates.forEach((date, i) => {
      const latest = keep === 'all' || i < keep;
      const backfill = policy.since !== null && date >= policy.since;
      if (latest || backfill || policy.pinnedDates.has(date)) out.push({ channel, date });
    });
  }
  return out;
}
