// Which dated releases upstream has: `manifests.txt` (every manifest Rust ever published, one
// `static.rust-lang.org/dist/<date>/channel-rust-<name>.toml` a line), or, when a server has none,
// the dates a probe walks back through.
//
// Contract: `parseManifestList(text)` returns the distinct (channel, date) pairs of the lines
// naming a channel manifest (stable, beta, nightly) under a valid date, sorted by date; version
// manifests (`channel-rust-1.90.0.toml`) are copies of the stable one of their date and are
// skipped, as are lines of any other shape (counted in `ignored`, never trusted as paths).
// `probeDates(newest, count)` lists `count` calendar days back from `newest`, newest first.
// `parsePin(value)` tells a date pin (YYYY-MM-DD) from a stable version pin (X.Y.Z).
import { DATE } from './manifest.js';
import { CHANNELS, type Channel, type Release } from './selection.js';

const LINE = /(?:^|\/)dist\/(\d{4}-\d{2}-\d{2})\/channel-rust-([a-z0-9.-]+)\.toml$/;

export interface ManifestList {
  releases: Release[];
  ignored: number;
}

export function parseManifestList(text: string): ManifestList {
  const seen = new Set<string>();
  const releases: Release[] = [];
  let ignored = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = line.match(LINE);
    if (!m || !DATE.test(m[1])) {
      ignored++;
      continue;
    }
    const channel = m[2] as Channel;
    if (!CHANNELS.includes(channel)) {
      if (!/^\d+\.\d+(\.\d+)?$/.test(m[2])) ignored++;
      continue;
    }
    const key = `${channel}/${m[1]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    releases.push({ channel, date: m[1] });
  }
  releases.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return { releases, ignored };
}

export function probeDates(newest: string, count: number): string[] {
  const out: string[] = [];
  const day = new Date(`${newest}T00:00:00Z`);
  for (let i = 0; i < count; i++) {
    out.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() - 1);
  }
  return out;
}

export type Pin = { kind: 'date'; date: string } | { kind: 'version'; version: string };

export function parsePin(value: string): Pin | null {
  if (DATE.test(value)) return { kind: 'date', date: value };
  const m = value.match(/^(\d+)\.(\d+)\.(\d+)$/);
  return m ? { kind: 'version', version: `${Number(m[1])}.${Number(m[2])}.${Number(m[3])}` } : null;
}
