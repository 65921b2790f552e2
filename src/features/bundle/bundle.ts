// Bundles for carrying a mirror offline: rolling `.tar.zst` volumes and their verification.
//
// Writing: `<out>/<name>.NNNN.tar.zst` volumes hold the mirror's own relative paths (so a plain
// `zstd -d | tar -x` in the mirror root also works). Each volume's uncompressed tar stays within
// the size limit (zstd never expands meaningfully, so the compressed file fits too); a single
// file larger than the limit gets a volume of its own. The LAST member of every volume is its
// manifest `.mirror/bundles/<volume>.json` (members with size, sha256, mtime), hashed while the
// files are streamed in, so every file is read once. `<out>/<name>.bundle.json` indexes the
// volumes (file, size, sha256), the run the bundle is based on and, for an incremental bundle,
// the paths deleted since.
//
// Restoring: every volume's sha256 is checked against the index while it is decompressed; each
// member must be a regular file with a safe relative path, listed in the volume manifest with
// the same size and sha256, and every listed member must be present. Members are extracted into
// a staging directory under `<dest>/.mirror/`; only when the whole bundle verified are they
// renamed into place (mtimes restored) and its deletions applied. A bundle that fails
// verification changes nothing in the mirror.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { checkRelativePath, PRIVATE_DIR, SafeTree } from '../../engine/safe-path.js';
import { layoutFor, lockMirror } from '../../engine/layout.js';
import type { Logger } from 'pino';
import { startProgress } from '../../engine/progress.js';
import type { MirrorFile } from '../walk.js';
import { UsageError } from '../../errors.js';

export const BUNDLE_SCHEMA = 1;
const MANIFEST_DIR = `${PRIVATE_DIR}/bundles`;

export interface BundleMember {
  path: string;
  size: number;
  sha256: string;
  /** Modification time, whole seconds since the epoch (tar precision). */
  mtime: number;
}

export interface VolumeManifest {
  schema: number;
  bundle: string;
  volume: number;
  members: BundleMember[];
}

export interface BundleVolume {
  file: string;
  size: number;
  sha256: string;
  members: number;
  bytes: number;
}

export interface BundleIndex {
  schema: number;
  name: string;
  created: string;
  /** Run id the bundle is based on (the mirror's last run when it was written), if known. */
  run: number | null;
  /** For an incremental bundle: the run it starts after. */
  since: number | null;
  files: number;
  bytes: number;
  volumes: BundleVolume[];
  deleted: string[];
}

export interface WriteBundleOptions {
  root: string;
  outDir: string;
  name: string;
  files: MirrorFile[];
  deleted: string[];
  /** Upper bound of one volume's uncompressed tar stream, in bytes. */
  volumeSize: number;
  level: number;
  run: number | null;
  since: number | null;
  progress: boolean;
  log: Logger;
  onVolume?(volume: BundleVolume): void;
}

/** A pass-through that feeds every chunk to `hash` and reports its length. */
function tap(hash: Hash, onBytes?: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
}

const TAR_BLOCK = 512;
const TAR_END = 2 * TAR_BLOCK;
const round512 = (n: number) => Math.ceil(n / TAR_BLOCK) * TAR_BLOCK;
/** Worst-case tar bytes for one member: header, optional PAX header (long/UTF-8 name), data. */
const memberCost = (path: string, size: number) => 3 * TAR_BLOCK + round512(Buffer.byteLength(path) + 64) + round512(size);
const manifestLineCost = (path: string) => Buffer.byteLength(JSON.stringify(path)) + 140;

export async function writeBundle(opts: WriteBundleOptions): Promise<BundleIndex> {
  await fs.mkdir(opts.outDir, { recursive: true });
  const totalBytes = opts.files.reduce((n, f) => n + f.size, 0);
  const done = { files: 0, bytes: 0 };
  const progress = startProgress('bundle', () => ({ done: done.files, total: opts.files.length, bytes: done.bytes, totalBytes, failed: 0 }), {
    enabled: opts.progress,
    log: opts.log,
  });
  const volumes: BundleVolume[] = [];
  try {
    let i = 0;
    while (i < opts.files.length) {
      // Choose this volume's members: at least one, then as many as fit.
      const volumeName = `${opts.name}.${String(volumes.length + 1).padStart(4, '0')}`;
      let used = TAR_END + memberCost(`${MANIFEST_DIR}/${volumeName}.json`, 200);
      let end = i;
      while (end < opts.files.length) {
        const f = opts.files[end];
        const cost = memberCost(f.path, f.size) + manifestLineCost(f.path);
        if (end > i && used + cost > opts.volumeSize) break;
        used += cost;
        end++;
      }
      const volume = await writeVolume(opts, volumeName, volumes.length + 1, opts.files.slice(i, end), done);
      volumes.push(volume);
      opts.onVolume?.(volume);
      i = end;
    }
  } finally {
    progress.stop();
  }
  const index: BundleIndex = {
    schema: BUNDLE_SCHEMA,
    name: opts.name,
    created: new Date().toISOString(),
    run: opts.run,
    since: opts.since,
    files: opts.files.length,
    bytes: totalBytes,
    volumes,
    deleted: opts.deleted,
  };
  await writeFileAtomic(join(opts.outDir, `${opts.name}.bundle.json`), JSON.stringify(index, null, 2) + '\n');
  return index;
}

async function writeVolume(opts: WriteBundleOptions, volumeName: string, volumeNo: number, files: MirrorFile[], done: { files: number; bytes: number }): Promise<BundleVolume> {
  const file = `${volumeName}.tar.zst`;
  const target = join(opts.outDir, file);
  const partial = `${target}.partial`;
  const pack = tar.pack();
  const archiveHash = createHash('sha256');
  let archiveSize = 0;
  const countAndHash = tap(archiveHash, (n) => (archiveSize += n));
  const written = pipeline(pack, new CompressStream({ compressionLevel: opts.level }), countAndHash, createWriteStream(partial));
  const members: BundleMember[] = [];
  let bytes = 0;
  try {
    for (const f of files) {
      const mtime = Math.floor(f.mtimeMs / 1000);
      const hash = createHash('sha256');
      const entry = pack.entry({ name: f.path, size: f.size, mtime: new Date(mtime * 1000), mode: 0o644, type: 'file' });
      await pipeline(createReadStream(join(opts.root, f.path)), tap(hash), entry).catch((err: Error) => {
        throw new Error(`cannot bundle ${f.path}: ${err.message}`);
      });
      members.push({ path: f.path, size: f.size, sha256: hash.digest('hex'), mtime });
      bytes += f.size;
      done.files++;
      done.bytes += f.size;
    }
    const manifest: VolumeManifest = { schema: BUNDLE_SCHEMA, bundle: opts.name, volume: volumeNo, members };
    pack.entry({ name: `${MANIFEST_DIR}/${volumeName}.json`, mode: 0o644, mtime: new Date() }, JSON.stringify(manifest, null, 1) + '\n');
    pack.finalize();
    await written;
  } catch (err) {
    pack.destroy(err as Error);
    await written.catch(() => undefined);
    await fs.rm(partial, { force: true });
    throw err;
  }
  const fh = await fs.open(partial, 'r');
  await fh.sync();
  await fh.close();
  await fs.rename(partial, target);
  return { file, size: archiveSize, sha256: archiveHash.digest('hex'), members: members.length, bytes };
}

async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

// ---------------------------------------------------------------------------------------------
// Restoring

export class BundleError extends Error {
  override name = 'BundleError';
}

export interface UnbundleOptions {
  dest: string;
  /** Verify only: extract to staging, check everything, apply nothing. */
  checkOnly?: boolean;
  progress: boolean;
  log: Logger;
}

export interface UnbundleResult {
  name: string;
  files: number;
  bytes: number;
  deleted: number;
}

/** Reads and sanity-checks a `<name>.bundle.json`. */
export async function readBundleIndex(file: string): Promise<BundleIndex> {
  let index: BundleIndex;
  try {
    index = JSON.parse(await fs.readFile(file, 'utf8')) as BundleIndex;
  } catch (err) {
    throw new BundleError(`${file}: not a readable bundle index (${(err as Error).message})`);
  }
  if (index?.schema !== BUNDLE_SCHEMA || typeof index.name !== 'string' || !Array.isArray(index.volumes) || !Array.isArray(index.deleted)) {
    throw new BundleError(`${file}: not a bundle index of schema ${BUNDLE_SCHEMA}`);
  }
  for (const v of index.volumes) {
    if (typeof v.file !== 'string' || v.file !== basename(v.file) || !v.file.endsWith('.tar.zst') || !/^[0-9a-f]{64}$/.test(v.sha256)) {
      throw new BundleError(`${file}: bad volume entry ${JSON.stringify(v.file)}`);
    }
  }
  for (const p of index.deleted) {
    const why = typeof p === 'string' ? checkRelativePath(p) : 'not a string';
    if (why) throw new BundleError(`${file}: bad deleted path ${JSON.stringify(p)}: ${why}`);
  }
  return index;
}

/** Verifies and applies one bundle (all its volumes) to `dest`. Throws BundleError on any mismatch. */
export async function applyBundle(indexFile: string, opts: UnbundleOptions): Promise<UnbundleResult> {
  const index = await readBundleIndex(indexFile);
  const bundleDir = dirname(indexFile);
  const lock = lockMirror(layoutFor(opts.dest), 'unbundle');
  const staging = await fs.mkdtemp(join(opts.dest, PRIVATE_DIR, 'unbundle-')).catch((err: Error) => {
    lock.release();
    throw err;
  });
  const done = { files: 0, bytes: 0 };
  const total = index.volumes.reduce((n, v) => n + v.members, 0);
  const totalBytes = index.volumes.reduce((n, v) => n + v.bytes, 0);
  const progress = startProgress('unbundle', () => ({ done: done.files, total, bytes: done.bytes, totalBytes, failed: 0 }), {
    enabled: opts.progress,
    log: opts.log,
  });
  try {
    const staged: BundleMember[] = [];
    const manifests: { name: string; text: string }[] = [];
    const seen = new Set<string>();
    for (const volume of index.volumes) {
      const { members, manifestText, manifestName } = await extractVolume(join(bundleDir, volume.file), volume, index.name, staging, done);
      for (const m of members) {
        if (seen.has(m.path)) throw new BundleError(`${volume.file}: ${m.path} appears in two volumes`);
        seen.add(m.path);
        staged.push(m);
      }
      manifests.push({ name: manifestName, text: manifestText });
    }
    if (opts.checkOnly) return { name: index.name, files: staged.length, bytes: sumBytes(staged), deleted: index.deleted.length };

    const tree = new SafeTree(opts.dest);
    for (const m of staged) {
      tree.ensureParentDirs(m.path);
      const target = tree.resolve(m.path);
      const existing = await fs.lstat(target).catch(() => null);
      if (existing && !existing.isFile()) throw new BundleError(`${m.path}: a non-file is in the way in ${opts.dest}`);
      await fs.rename(join(staging, 'files', m.path), target);
      await fs.utimes(target, m.mtime, m.mtime);
    }
    let deleted = 0;
    for (const p of index.deleted) {
      if (seen.has(p) || !tree.parentsAreSafe(p)) continue;
      const st = await fs.lstat(tree.resolve(p)).catch(() => null);
      if (st?.isFile()) {
        await fs.rm(tree.resolve(p));
        deleted++;
      }
    }
    // Keep a record of what was applied, next to the mirror's other private files.
    const record = join(opts.dest, MANIFEST_DIR);
    await fs.mkdir(record, { recursive: true });
    for (const m of manifests) await fs.writeFile(join(record, m.name), m.text);
    await fs.copyFile(indexFile, join(record, basename(indexFile)));
    return { name: index.name, files: staged.length, bytes: sumBytes(staged), deleted };
  } finally {
    progress.stop();
    await fs.rm(staging, { recursive: true, force: true });
    lock.release();
  }
}

const sumBytes = (ms: BundleMember[]) => ms.reduce((n, m) => n + m.size, 0);

async function extractVolume(
  archive: string,
  volume: BundleVolume,
  bundleName: string,
  staging: string,
  done: { files: number; bytes: number },
): Promise<{ members: BundleMember[]; manifestText: string; manifestName: string }> {
  const expectedManifest = `${MANIFEST_DIR}/${volume.file.replace(/\.tar\.zst$/, '')}.json`;
  const archiveHash = createHash('sha256');
  const extracted = new Map<string, { size: number; sha256: string }>();
  let manifestText: string | undefined;
  const extract = tar.extract();
  const tree = new SafeTree(join(staging, 'files'));
  await fs.mkdir(tree.root, { recursive: true });

  extract.on('entry', (header, stream, next) => {
    const fail = (msg: string) => {
      stream.resume();
      next(new BundleError(`${volume.file}: ${msg}`));
    };
    const name = header.name;
    if (name === expectedManifest && header.type === 'file') {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        manifestText = Buffer.concat(chunks).toString('utf8');
        next();
      });
      return;
    }
    if (header.type !== 'file') return fail(`member ${JSON.stringify(name)} is a ${header.type}, not a regular file`);
    const why = checkRelativePath(name);
    if (why) return fail(`unsafe member name ${JSON.stringify(name)}: ${why}`);
    if (extracted.has(name) || manifestText !== undefined) return fail(`unexpected member ${JSON.stringify(name)}`);
    const hash = createHash('sha256');
    let size = 0;
    const hashing = tap(hash, (n) => (size += n));
    try {
      tree.ensureParentDirs(name);
    } catch (err) {
      return fail(`${name}: ${(err as Error).message}`);
    }
    pipeline(stream, hashing, createWriteStream(tree.resolve(name), { flags: 'wx' })).then(
      () => {
        extracted.set(name, { size, sha256: hash.digest('hex') });
        done.files++;
        done.bytes += size;
        next();
      },
      (err: Error) => next(new BundleError(`${volume.file}: cannot extract ${name}: ${err.message}`)),
    );
  });

  try {
    await pipeline(createReadStream(archive), tap(archiveHash), new DecompressStream(), extract);
  } catch (err) {
    if (err instanceof BundleError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BundleError(`${volume.file}: missing from the bundle directory`);
    throw new BundleError(`${volume.file}: corrupt archive (${(err as Error).message})`);
  }
  const sha256 = archiveHash.digest('hex');
  if (sha256 !== volume.sha256) throw new BundleError(`${volume.file}: sha256 ${sha256} does not match the bundle index (${volume.sha256})`);
  if (manifestText === undefined) throw new BundleError(`${volume.file}: has no member manifest ${expectedManifest}`);
  let manifest: VolumeManifest;
  try {
    manifest = JSON.parse(manifestText) as VolumeManifest;
  } catch {
    throw new BundleError(`${volume.file}: member manifest is not JSON`);
  }
  if (manifest.schema !== BUNDLE_SCHEMA || manifest.bundle !== bundleName || !Array.isArray(manifest.members)) {
    throw new BundleError(`${volume.file}: member manifest does not belong to bundle ${bundleName}`);
  }
  for (const m of manifest.members) {
    if (typeof m.path !== 'string' || !Number.isSafeInteger(m.mtime)) throw new BundleError(`${volume.file}: malformed member manifest entry`);
    const got = extracted.get(m.path);
    if (!got) throw new BundleError(`${volume.file}: ${m.path} is listed in the manifest but missing`);
    if (got.size !== m.size || got.sha256 !== m.sha256) throw new BundleError(`${volume.file}: ${m.path} does not match its manifest checksum`);
    extracted.delete(m.path);
  }
  if (extracted.size > 0) throw new BundleError(`${volume.file}: ${[...extracted.keys()][0]} is not in the member manifest`);
  return { members: manifest.members, manifestText, manifestName: basename(expectedManifest) };
}

/** A bundle index file, or every `*.bundle.json` of a directory in creation order. */
export async function bundleIndexes(path: string): Promise<string[]> {
  const st = await fs.stat(path).catch(() => null);
  if (!st) throw new UsageError(`${path} does not exist`);
  if (st.isFile()) return [path];
  const files = (await fs.readdir(path)).filter((f) => f.endsWith('.bundle.json')).map((f) => join(path, f));
  if (files.length === 0) throw new UsageError(`${path} holds no *.bundle.json`);
  const created = new Map<string, string>();
  for (const f of files) {
    try {
      created.set(f, (await readBundleIndex(f)).created);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return files.sort((a, b) => created.get(a)!.localeCompare(created.get(b)!) || a.localeCompare(b));
}
