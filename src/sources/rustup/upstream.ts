// Manifest files of a Rust dist server and their placement in the mirror.
//
// Contract: `DistUpstream` fetches into the staging dir (as `up/<path>`): `sha(path)` reads
// `<path>.sha256` (one `<hex>  <name>` line); `manifest(path, sha)` fetches the manifest verified
// against that hash (a mismatch throws: nothing is published) and its `.asc`, checked with gpgv
// against the keyring when one is given (a missing or bad signature throws).
// `ManifestPlacer.place(path, sha, stage, bytes?)` makes the mirror hold a manifest trio
// (`.toml`, `.toml.sha256`, `.toml.asc` when upstream has one): when the published copy already
// has that sha256 the trio is emitted as `keep` (no download); otherwise it is fetched (or, for a
// copy of bytes already in hand, copied) and emitted as index files of `stage`, so a manifest
// and its `.sha256` go live together, after every archive. Returns the file to read the
// manifest from.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256File } from '../../util/hash-file.js';
import { verifyDetached } from '../apt/gpg.js';
import type { DiscoverContext } from '../types.js';
import { readShaFile } from './manifest.js';

export class DistUpstream {
  constructor(
    private readonly ctx: DiscoverContext,
    readonly base: string,
    private readonly keyring: string | null,
    private readonly gpgDir: string,
  ) {}

  url(path: string): string {
    return `${this.base}/${path}`;
  }

  staged(path: string): string {
    return join(this.ctx.stagingDir, 'up', path);
  }

  /** Fetches any upstream file into the staging dir; null when optional and absent. */
  async fetch(path: string, optional = false): Promise<string | null> {
    const fetched = await this.ctx.fetchToStaging(this.url(path), `up/${path}`, { optional });
    return fetched ? fetched.file! : null;
  }

  /** The mirror's published copy of `path` when it has sha256 `sha`, else null. */
  async localCopy(path: string, sha: string): Promise<string | null> {
    const published = join(this.ctx.dest, path);
    return existsSync(published) && (await sha256File(published)) === sha ? published : null;
  }

  /** The sha256 that upstream's `<path>.sha256` names; null when optional and absent. */
  async sha(path: string, optional = false): Promise<string | null> {
    const fetched = await this.ctx.fetchToStaging(this.url(`${path}.sha256`), `up/${path}.sha256`, { optional });
    if (!fetched) return null;
    const sha = readShaFile(readFileSync(fetched.file!, 'utf8'));
    if (!sha) throw new Error(`${path}.sha256 does not hold a sha256`);
    return sha;
  }

  /** Fetches a manifest verified against `sha` and its signature; returns the staged manifest. */
  async manifest(path: string, sha: string): Promise<{ file: string; asc: string | null }> {
    const fetched = await this.ctx.fetchToStaging(this.url(path), `up/${path}`, { checksums: { sha256: sha } });
    return { file: fetched!.file!, asc: await this.signature(path, fetched!.file!) };
  }

  /** Fetches `<path>.asc` (optional upstream) and checks it over `data` when there is a keyring. */
  async signature(path: string, data: string): Promise<string | null> {
    const fetched = await this.ctx.fetchToStaging(this.url(`${path}.asc`), `up/${path}.asc`, { optional: true });
    if (this.keyring) {
      if (!fetched) throw new Error(`${path}.asc is missing upstream: cannot check the manifest with --keyring`);
      await verifyDetached(fetched.file!, data, this.keyring, this.gpgDir, `${path}.asc`);
    }
    return fetched ? fetched.file! : null;
  }
}

export class ManifestPlacer {
  constructor(
    private readonly ctx: DiscoverContext,
    private readonly up: DistUpstream,
    /** Never keep a published copy (e.g. signatures must be checked again). */
    private readonly fresh: boolean,
  ) {}

  /**
   * Makes the mirror hold `path` with sha256 `sha` (whose `.sha256` DistUpstream.sha already
   * staged). `bytes`: a file holding the same manifest, to copy instead of downloading it again.
   */
  async place(path: string, sha: string, stage: number, bytes?: string): Promise<string> {
    const published = this.fresh || !existsSync(join(this.ctx.dest, `${path}.sha256`)) ? null : await this.up.localCopy(path, sha);
    if (published) {
      this.ctx.emit({ kind: 'keep', path });
      this.ctx.emit({ kind: 'keep', path: `${path}.sha256` });
      if (existsSync(`${published}.asc`)) this.ctx.emit({ kind: 'keep', path: `${path}.asc` });
      return published;
    }
    let file: string;
    let asc: string | null;
    if (bytes) {
      file = join(this.ctx.stagingDir, 'gen', path);
      mkdirSync(dirname(file), { recursive: true });
      copyFileSync(bytes, file);
      asc = await this.up.signature(path, file);
    } else {
      ({ file, asc } = await this.up.manifest(path, sha));
    }
    this.ctx.emit({ kind: 'index', path, stagedFile: file, stage });
    this.ctx.emit({ kind: 'index', path: `${path}.sha256`, stagedFile: this.up.staged(`${path}.sha256`), stage });
    if (asc) this.ctx.emit({ kind: 'index', path: `${path}.asc`, stagedFile: asc, stage });
    return file;
  }
}
