// The rustup source: mirrors a Rust toolchain dist server (static.rust-lang.org) so that
// `RUSTUP_DIST_SERVER=<mirror> rustup toolchain install ...` works from the mirror alone.
//
// Contract: `mirror sync rustup <dist-server> <dest> --target T... [--channel C...]`.
// discover() reads each selected channel's head (`dist/channel-rust-<c>.toml.sha256`); when every
// head and the options match the cursor, the run is a no-op 'delta'. Otherwise it lists the
// dated releases (upstream's manifests.txt, else a probe back from each head's date), applies
// retention (selection.ts), and for each kept release places its manifest and emits its
// archives (release.ts); then the stable version aliases (dated `channel-rust-X.Y.Z.toml` and
// `-X.Y.toml` copies, top-level ones), then each channel's head, last; with --rustup-init,
// rustup itself (rustup-init.ts). Manifests are never rewritten (byte-identical, so their
// `.sha256` and `.asc` stay valid). The mode is 'full': whatever no kept manifest references is
// deleted by the engine after publish. The cursor: { v, key, heads: { <channel>: sha256 }, init }.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { prepareKeyring } from '../apt/gpg.js';
import { StagingWriter } from '../crates/staging.js';
import type { DiscoverContext, DiscoverResult, Source, SourceOptionSpec } from '../types.js';
import { parseManifestList, probeDates } from './discovery.js';
import { parseManifest } from './manifest.js';
import { readRustupOptions, type RustupOptions } from './options.js';
import { ALIAS_STAGE, HEAD_STAGE, MANIFEST_STAGE, manifestPath, mirrorRelease, type MirroredRelease } from './release.js';
import { mirrorRustupInit } from './rustup-init.js';
import { selectReleases, type Channel, type Release } from './selection.js';
import { DistUpstream, ManifestPlacer } from './upstream.js';

const OPTIONS: SourceOptionSpec[] = [
  { flag: 'channel', type: 'string[]', description: 'stable, beta or nightly (repeatable; default stable)' },
  { flag: 'target', type: 'string[]', description: 'target triple, or linux, windows, darwin, all (repeatable; at least one); rust-src and other target-independent packages are always kept' },
  { flag: 'component', type: 'string[]', description: 'mirror only this package (e.g. rustc, cargo, rust-std, clippy); repeatable' },
  { flag: 'exclude-component', type: 'string[]', description: 'leave this package out (e.g. rust, the combined installer rustup never downloads); repeatable' },
  { flag: 'format', type: 'string', default: 'xz', description: 'archives to keep: xz (what rustup downloads; default), gz or both' },
  { flag: 'keep-nightly', type: 'string', description: 'keep the N latest nightlies (default 7)' },
  { flag: 'keep-beta', type: 'string', description: 'keep the N latest betas (default 7)' },
  { flag: 'keep-stable', type: 'string', description: "keep the N latest stable releases, or 'all' (default all)" },
  { flag: 'pin', type: 'string[]', description: 'also keep this release: a date (YYYY-MM-DD) or a stable version (X.Y.Z); repeatable' },
  { flag: 'since', type: 'string', description: 'also keep every release dated on or after YYYY-MM-DD (backfill)' },
  { flag: 'rustup-init', type: 'boolean', description: 'also mirror rustup itself (rustup/) for the selected host targets' },
  { flag: 'keyring', type: 'string', description: "OpenPGP keyring (Rust's signing key) that must have signed every manifest (.asc)" },
];

interface RustupCursor {
  v: 1;
  key: string;
  heads: Record<string, string>;
  init: string | null;
}

function optionsKey(o: RustupOptions): string {
  const shape = { ...o, channels: [...o.channels].sort(), acceptsTarget: undefined, keyring: o.keyring !== null };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex');
}

function distBase(upstream: string): string {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new UsageError(`'${upstream}' is not a URL (expected e.g. https://static.rust-lang.org)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`'${upstream}': only http(s) dist servers are supported`);
  url.search = '';
  url.hash = '';
  return url.href.replace(/\/+$/, '');
}

interface Head {
  channel: Channel;
  sha: string;
}

async function discover(upstream: string, ctx: DiscoverContext): Promise<DiscoverResult> {
  const opts = readRustupOptions(ctx.options);
  const base = distBase(upstream);
  const key = optionsKey(opts);
  const previous = readCursor(ctx.cursor);
  const gpgDir = join(ctx.stagingDir, 'gpg');
  const keyring = opts.keyring ? await prepareKeyring(opts.keyring, gpgDir) : null;
  if (!keyring) ctx.log.warn('rustup: no --keyring: manifest signatures (.asc) are mirrored but NOT checked');
  const up = new DistUpstream(ctx, base, keyring, gpgDir);

  const heads: Head[] = [];
  for (const channel of opts.channels) {
    const sha = await up.sha(`dist/channel-rust-${channel}.toml`, true);
    if (!sha) throw new Error(`${up.url(`dist/channel-rust-${channel}.toml.sha256`)} not found: is ${base} a Rust dist server?`);
    heads.push({ channel, sha });
  }
  const initVersion = opts.rustupInit ? await readRustupVersion(up) : null;
  const cursor: RustupCursor = { v: 1, key, heads: Object.fromEntries(heads.map((h) => [h.channel, h.sha])), init: initVersion };
  if (previous && previous.key === key && previous.init === initVersion && heads.every((h) => previous.heads[h.channel] === h.sha)) {
    ctx.log.info({ channels: [...opts.channels] }, 'rustup: every channel head is unchanged since the last run; nothing to do');
    return { mode: 'delta', cursor: previous };
  }

  const placer = new ManifestPlacer(ctx, up, previous === null || previous.key !== key);
  const headDates = new Map<Channel, string>();
  for (const h of heads) headDates.set(h.channel, await headDate(up, h));
  const listed = await listReleases(ctx, up, opts, headDates);
  const pinned = await resolvePins(ctx, up, opts);
  const kept = selectReleases(listed, { channels: opts.channels, keep: opts.keep, since: opts.since, pinned });
  ctx.log.info({ releases: kept.length }, 'rustup: mirroring the kept releases');

  const sidecars = new StagingWriter();
  const mirrored: MirroredRelease[] = [];
  for (const r of kept) {
    const m = await mirrorRelease({ ctx, up, placer, opts, sidecars }, r);
    if (m) mirrored.push(m);
  }
  await sidecars.drain();
  await placeStableAliases(ctx, up, placer, mirrored);
  for (const h of heads) {
    const release = mirrored.find((r) => r.channel === h.channel && r.sha === h.sha);
    const path = `dist/channel-rust-${h.channel}.toml`;
    if (release) await placer.place(path, h.sha, HEAD_STAGE, release.file);
    else if (opts.keep[h.channel] !== 0) ctx.reportProblem(`${path} is not the manifest of any kept ${h.channel} release (${manifestPath({ channel: h.channel, date: headDates.get(h.channel)! })} differs?)`);
  }
  if (initVersion) await mirrorRustupInit(ctx, up, initVersion, [...new Set(mirrored.flatMap((r) => r.hosts))]);
  return { mode: 'full', cursor };
}

function readCursor(value: unknown): RustupCursor | null {
  if (!value || typeof value !== 'object') return null;
  const c = value as Partial<RustupCursor>;
  if (c.v !== 1 || typeof c.key !== 'string' || !c.heads || typeof c.heads !== 'object') return null;
  return c as RustupCursor;
}

async function readRustupVersion(up: DistUpstream): Promise<string> {
  const text = readFileSync((await up.fetch('rustup/release-stable.toml'))!, 'utf8');
  const m = text.match(/^version\s*=\s*['"](\d+\.\d+\.\d+)['"]\s*$/m);
  if (!m) throw new Error(`${up.url('rustup/release-stable.toml')} names no version`);
  return m[1];
}

/** The date of a channel's head manifest (read from the mirror's copy when it is the same). */
async function headDate(up: DistUpstream, h: Head): Promise<string> {
  const path = `dist/channel-rust-${h.channel}.toml`;
  const file = await up.localCopy(path, h.sha) ?? (await up.manifest(path, h.sha)).file;
  return parseManifest(readFileSync(file, 'utf8'), path).date;
}

async function listReleases(ctx: DiscoverContext, up: DistUpstream, opts: RustupOptions, heads: Map<Channel, string>): Promise<Release[]> {
  const list = await up.fetch('manifests.txt', true);
  const releases: Release[] = [...heads].map(([channel, date]) => ({ channel, date }));
  if (list) {
    const parsed = parseManifestList(readFileSync(list, 'utf8'));
    if (parsed.ignored > 0) ctx.log.warn({ lines: parsed.ignored }, 'rustup: manifests.txt lines of an unknown shape ignored');
    return [...releases, ...parsed.releases];
  }
  ctx.log.warn('rustup: upstream has no manifests.txt: probing dated manifests back from each channel head');
  for (const [channel, newest] of heads) {
    const keep = opts.keep[channel];
    if (keep === 'all' && !opts.since) {
      ctx.log.warn({ channel }, 'rustup: without manifests.txt only the head release of a channel kept in full is known');
      continue;
    }
    const sinceDays = opts.since ? Math.round((Date.parse(newest) - Date.parse(opts.since)) / 86_400_000) + 1 : 0;
    const days = Math.max(keep === 'all' ? 0 : keep * 2 + 14, sinceDays);
    for (const date of probeDates(newest, days).slice(1)) {
      if (await up.sha(manifestPath({ channel, date }), true)) releases.push({ channel, date });
    }
  }
  return releases;
}

/** Pinned releases as `date` (any channel) or `stable/<date>` (a version pin). */
async function resolvePins(ctx: DiscoverContext, up: DistUpstream, opts: RustupOptions): Promise<Set<string>> {
  const pinned = new Set<string>();
  for (const pin of opts.pins) {
    if (pin.kind === 'date') {
      pinned.add(pin.date);
      continue;
    }
    const path = `dist/channel-rust-${pin.version}.toml`;
    const sha = await up.sha(path, true);
    if (!sha) {
      ctx.reportProblem(`--pin ${pin.version}: upstream has no ${path}`);
      continue;
    }
    const file = await up.localCopy(path, sha) ?? (await up.manifest(path, sha)).file;
    pinned.add(`stable/${parseManifest(readFileSync(file, 'utf8'), path).date}`);
  }
  return pinned;
}

/** Dated `channel-rust-X.Y.Z.toml` / `-X.Y.toml` copies of kept stable releases, then the top-level ones. */
async function placeStableAliases(ctx: DiscoverContext, up: DistUpstream, placer: ManifestPlacer, mirrored: MirroredRelease[]): Promise<void> {
  const stables = mirrored.filter((r) => r.channel === 'stable' && r.version);
  const minors = new Set<string>();
  for (const r of stables) {
    const minor = r.version!.split('.').slice(0, 2).join('.');
    minors.add(minor);
    const copies: Array<[string, number]> = [
      [`dist/${r.date}/channel-rust-${r.version}.toml`, MANIFEST_STAGE],
      [`dist/${r.date}/channel-rust-${minor}.toml`, MANIFEST_STAGE],
      [`dist/channel-rust-${r.version}.toml`, ALIAS_STAGE],
    ];
    for (const [path, stage] of copies) {
      const sha = await up.sha(path, true);
      if (sha === r.sha) await placer.place(path, sha, stage, r.file);
      else if (sha) ctx.log.warn({ path }, `rustup: ${path} differs from ${manifestPath(r)}: not mirrored`);
    }
  }
  for (const minor of minors) {
    const path = `dist/channel-rust-${minor}.toml`;
    const sha = await up.sha(path, true);
    const release = stables.find((r) => r.sha === sha);
    if (sha && release) await placer.place(path, sha, ALIAS_STAGE, release.file);
    else if (sha) ctx.log.warn({ path }, `rustup: ${path} is not the manifest of a kept stable release: not mirrored`);
  }
}

export const rustupSource: Source = {
  kind: 'rustup',
  summary: 'Rust toolchain dist server (static.rust-lang.org): channel manifests and component archives',
  options: OPTIONS,
  discover,
};
