// One dated release of a channel: its manifest, the archives it references for the selected
// targets / packages / formats, and each archive's `.sha256`.
//
// Contract: `mirrorRelease` places `dist/<date>/channel-rust-<channel>.toml` (+ `.sha256`, `.asc`;
// stage MANIFEST_STAGE) through the ManifestPlacer, parses it (a malformed manifest throws: the
// run publishes nothing), and emits every selected archive as a blob at upstream's path,
// verified against the manifest's sha256, with a generated `<archive>.sha256`
// (`<hex>  <file name>`, as upstream writes them) as an index file of SIDECAR_STAGE, or a keep
// when the published one already says the same. A manifest whose date field disagrees with its
// directory is a problem (exit 1). Call `sidecars.drain()` after the last release.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StagingWriter } from '../crates/staging.js';
import type { DiscoverContext } from '../types.js';
import { parseManifest, stableVersion } from './manifest.js';
import type { RustupOptions } from './options.js';
import { archivesOf, packageFilter, type Release } from './selection.js';
import type { DistUpstream, ManifestPlacer } from './upstream.js';

export const SIDECAR_STAGE = 0;
export const MANIFEST_STAGE = 1;
export const ALIAS_STAGE = 2;
export const HEAD_STAGE = 3;

export interface MirroredRelease extends Release {
  /** The manifest's sha256 and a file holding its bytes. */
  sha: string;
  file: string;
  /** X.Y.Z for a stable release, else null. */
  version: string | null;
  /** Host triples with a compiler (pkg.rustc available) that the selection keeps. */
  hosts: string[];
}

export interface ReleaseDeps {
  ctx: DiscoverContext;
  up: DistUpstream;
  placer: ManifestPlacer;
  opts: RustupOptions;
  sidecars: StagingWriter;
}

export function manifestPath(r: Release): string {
  return `dist/${r.date}/channel-rust-${r.channel}.toml`;
}

export async function mirrorRelease(d: ReleaseDeps, r: Release): Promise<MirroredRelease | null> {
  const path = manifestPath(r);
  const sha = await d.up.sha(path, true);
  if (!sha) {
    d.ctx.reportProblem(`${path}.sha256 is missing upstream although the release is listed: ${r.channel} ${r.date} not mirrored`);
    return null;
  }
  const file = await d.placer.place(path, sha, MANIFEST_STAGE);
  const manifest = parseManifest(readFileSync(file, 'utf8'), path);
  if (manifest.date !== r.date) d.ctx.reportProblem(`${path} says date = "${manifest.date}"`);
  const accepts = packageFilter(d.opts.components, d.opts.excludeComponents, manifest.renames);
  const hosts: string[] = [];
  // A release whose directory the mirror does not have yet has no published sidecar to compare with.
  const publishedDir = existsSync(join(d.ctx.dest, `dist/${r.date}`));
  for (const t of manifest.targets) {
    if (!d.opts.acceptsTarget(t.target) || !accepts(t.pkg)) continue;
    if (t.pkg === 'rustc' && t.available) hosts.push(t.target);
    for (const a of archivesOf(t, d.opts.format)) {
      d.ctx.emit({ kind: 'blob', path: a.path, url: d.up.url(a.path), checksums: { sha256: a.sha256 } });
      await writeSidecar(d, a.path, a.sha256, publishedDir);
    }
  }
  return { ...r, sha, file, version: r.channel === 'stable' ? stableVersion(manifest.rustVersion) : null, hosts };
}

async function writeSidecar(d: ReleaseDeps, path: string, sha256: string, comparePublished: boolean): Promise<void> {
  const sidecar = `${path}.sha256`;
  const content = `${sha256}  ${path.slice(path.lastIndexOf('/') + 1)}\n`;
  // A dry run stages nothing: the entry carries the size instead.
  const staged = d.ctx.dryRun ? null : join(d.ctx.stagingDir, 'gen', sidecar);
  await d.sidecars.write(staged, content, comparePublished ? join(d.ctx.dest, sidecar) : null, (changed) => {
    if (!changed) d.ctx.emit({ kind: 'keep', path: sidecar });
    else if (staged) d.ctx.emit({ kind: 'index', path: sidecar, stagedFile: staged, stage: SIDECAR_STAGE });
    else d.ctx.emit({ kind: 'index', path: sidecar, size: content.length, stage: SIDECAR_STAGE });
  });
}
