// One suite of an apt archive: from its fetched root files to every entry the mirror needs.
//
// Contract:
// - `fetchRoot` downloads dists/<suite>/InRelease (or Release + Release.gpg) into staging and
//   fingerprints it; `completeRoot` adds Release / Release.gpg when the suite has an InRelease,
//   so all three published files come from this run's fetch.
// - `readRoot` checks the signatures (gpgv, the operator's keyring) and that Release and
//   InRelease say the same thing; it returns the signed Release text. Never unsigned text,
//   unless the operator turned verification off. A Release.gpg that fails next to a good
//   InRelease is dropped with a warning (apt never reads it then; publishing it would be wrong).
// - `mirrorSuite` parses that Release, obtains the selected index files (reusing published
//   copies whose SHA256 matches, else via by-hash URLs when the Release says Acquire-By-Hash,
//   else plain names; each checked against the Release), streams Packages/Sources to emit pool
//   files, regenerates filtered indexes and Release when a filter is set, and emits:
//   by-hash copies (stage 0), plain index names (stage 1), Release (2), Release.gpg (3),
//   InRelease (4), plus `keep` entries for the previous by-hash generations still on disk
//   (from the cursor, and from the Release the mirror serves now when the cursor lacks it).
//   It returns the suite's cursor: the root fingerprint and the by-hash generations.
import { createWriteStream, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import pLimit from 'p-limit';
import type { ChecksumAlgo, Checksums, DiscoverContext } from '../types.js';
import { streamStanzas } from './deb822.js';
import { codecOf, compressFile, readText } from './codec.js';
import { hashFile, linkOrCopy, matchesLocal, urlOf } from './files.js';
import { sha256File } from '../../util/hash-file.js';
import type { StanzaFilter } from './filter.js';
import { clearsignedText, signRelease, SignatureError, verifyClearsigned, verifyDetached } from './gpg.js';
import type { AptOptions } from './options.js';
import { packageFile, sourceFiles, type PoolFile } from './pool.js';
import { byHashAlgo, parseRelease, renderRelease, sameRelease, type Release, type ReleaseFile } from './release.js';
import { selectIndexes, type IndexFamily } from './selection.js';

/** [by-hash path relative to the archive root, size, sha256] */
export type ByHashEntry = [string, number, string];

export interface SuiteCursor {
  root: string;
  /** by-hash generations, newest first; [0] is the one the last run published. */
  byHash: ByHashEntry[][];
}

export interface SuiteRoot {
  suite: string;
  /** Staging subdirectory for this suite (relative to ctx.stagingDir). */
  stageDir: string;
  inRelease: string | null;
  release: string | null;
  releaseGpg: string | null;
  fingerprint: string;
}

export class SuiteError extends Error {}

const STAGE_BY_HASH = 0;
const STAGE_INDEX = 1;
const STAGE_RELEASE = 2;
const STAGE_RELEASE_GPG = 3;
const STAGE_IN_RELEASE = 4;

/** The staged file, or null for a 404 (no validators are sent, so there is no 304). */
async function fetchOptional(ctx: DiscoverContext, url: string, name: string, checks?: { size: number; checksums: Checksums }): Promise<string | null> {
  return (await ctx.fetchToStaging(url, name, { optional: true, ...checks }))?.file ?? null;
}

export async function fetchRoot(ctx: DiscoverContext, base: string, suite: string, index: number): Promise<SuiteRoot> {
  const stageDir = `apt/${index}`;
  const dists = `dists/${suite}`;
  const root: SuiteRoot = { suite, stageDir, inRelease: null, release: null, releaseGpg: null, fingerprint: '' };
  root.inRelease = await fetchOptional(ctx, urlOf(base, `${dists}/InRelease`), `${stageDir}/root/InRelease`);
  if (root.inRelease) {
    root.fingerprint = `InRelease:${await sha256File(root.inRelease)}`;
    return root;
  }
  root.release = await fetchOptional(ctx, urlOf(base, `${dists}/Release`), `${stageDir}/root/Release`);
  if (!root.release) throw new SuiteError(`suite ${suite}: upstream has neither ${dists}/InRelease nor ${dists}/Release`);
  root.releaseGpg = await fetchOptional(ctx, urlOf(base, `${dists}/Release.gpg`), `${stageDir}/root/Release.gpg`);
  const gpgHash = root.releaseGpg ? await sha256File(root.releaseGpg) : '-';
  root.fingerprint = `Release:${await sha256File(root.release)}:${gpgHash}`;
  return root;
}

export async function completeRoot(ctx: DiscoverContext, base: string, root: SuiteRoot): Promise<void> {
  if (!root.inRelease) return;
  const dists = `dists/${root.suite}`;
  [root.release, root.releaseGpg] = await Promise.all([
    fetchOptional(ctx, urlOf(base, `${dists}/Release`), `${root.stageDir}/root/Release`),
    fetchOptional(ctx, urlOf(base, `${dists}/Release.gpg`), `${root.stageDir}/root/Release.gpg`),
  ]);
  if (!root.release) root.releaseGpg = null;
}

/** Checks signatures and agreement; returns the signed Release text. */
export async function readRoot(root: SuiteRoot, keyring: string | null, workDir: string, warn: (message: string) => void): Promise<string> {
  const s = root.suite;
  if (root.inRelease) {
    // Release.gpg is checked at the same time as InRelease (two gpgv at once); its verdict
    // counts only once InRelease is known good.
    const detached =
      root.release && root.releaseGpg && keyring
        ? verifyDetached(root.releaseGpg, root.release, keyring, workDir).then(
            () => null,
            (err: Error) => err,
          )
        : Promise.resolve(null);
    const text = keyring
      ? await verifyClearsigned(root.inRelease, keyring, workDir).catch(async (err: Error) => {
          await detached;
          throw new SignatureError(`suite ${s}: ${err.message}`);
        })
      : clearsignedText(await fs.readFile(root.inRelease, 'utf8'));
    const detachedError = await detached;
    if (root.release) {
      const plain = await fs.readFile(root.release, 'utf8');
      if (!sameRelease(parseRelease(text), parseRelease(plain))) {
        throw new SuiteError(`suite ${s}: Release and InRelease disagree (upstream is mid-update?); try again later`);
      }
      if (detachedError) {
        // apt reads the (good) InRelease and never this file: leave it out rather than
        // publish a signature known to be bad, and say so.
        warn(`apt: suite ${s}: ${detachedError.message} over Release (InRelease is good): Release.gpg is not published`);
        root.releaseGpg = null;
      }
    }
    return text;
  }
  if (keyring) {
    if (!root.releaseGpg) throw new SignatureError(`suite ${s}: Release is unsigned (no InRelease, no Release.gpg)`);
    await verifyDetached(root.releaseGpg, root.release!, keyring, workDir).catch((err: Error) => {
      throw new SignatureError(`suite ${s}: ${err.message}`);
    });
  }
  return fs.readFile(root.release!, 'utf8');
}

/** Emits pool files once each across the whole run; a path named with two contents is a problem. */
export class PoolEmitter {
  private readonly seen = new Map<string, string>();
  count = 0;
  constructor(private readonly ctx: DiscoverContext, private readonly base: string) {}

  add(file: PoolFile, where: string): void {
    const known = this.seen.get(file.path);
    if (known !== undefined) {
      if (known !== file.checksums.sha256) this.ctx.reportProblem(`${where}: ${file.path} listed again with a different SHA256`);
      return;
    }
    this.seen.set(file.path, file.checksums.sha256!);
    this.count++;
    this.ctx.emit({ kind: 'blob', path: file.path, url: urlOf(this.base, file.path), size: file.size, checksums: file.checksums });
  }
}

interface Published {
  /** Relative to dists/<suite>/. */
  path: string;
  staged: string;
  size: number;
  checksums: Checksums;
}

export interface SuiteJob {
  ctx: DiscoverContext;
  base: string;
  root: SuiteRoot;
  releaseText: string;
  opts: AptOptions;
  filter: StanzaFilter | null;
  pool: PoolEmitter;
  /** Archive-root paths emitted as index entries so far in this run. */
  emittedIndexes: Set<string>;
  previous: SuiteCursor | null;
}

export async function mirrorSuite(job: SuiteJob): Promise<SuiteCursor> {
  const { ctx, base, root, opts, filter } = job;
  const suite = root.suite;
  const dists = `dists/${suite}`;
  const release = parseRelease(job.releaseText);
  warnAboutRelease(ctx, suite, release, opts);
  const families = selectIndexes(release, {
    components: opts.components,
    arches: opts.arches,
    sources: opts.sources,
    translations: opts.translations,
    contents: opts.contents,
  });

  // 1. Every selected index file, verified against the Release.
  const fetchDir = `${root.stageDir}/fetch`;
  const obtained = new Map<string, string>();
  const limit = pLimit(8);
  let reused = 0;
  await Promise.all(
    families.flatMap((f) => f.variants).map((v) =>
      limit(async () => {
        const name = `${fetchDir}/${v.path}`;
        const local = join(ctx.dest, dists, v.path);
        if (await matchesLocal(local, v.size, v.checksums.sha256!)) {
          await linkOrCopy(local, join(ctx.stagingDir, name));
          obtained.set(v.path, join(ctx.stagingDir, name));
          reused++;
          return;
        }
        const checks = { size: v.size, checksums: v.checksums };
        let file: string | null = null;
        if (release.acquireByHash) {
          const { field, algo } = byHashAlgo(release);
          file = await fetchOptional(ctx, urlOf(base, `${dists}/${byHashPath(v.path, field, v.checksums[algo]!)}`), name, checks);
        }
        file ??= await fetchOptional(ctx, urlOf(base, `${dists}/${v.path}`), name, checks);
        if (file) obtained.set(v.path, file);
      }),
    ),
  );

  // 2. Pool files from Packages / Sources; filtered copies when a filter is set.
  const published: Published[] = [];
  const outDir = join(ctx.stagingDir, root.stageDir, 'out');
  for (const family of families) {
    const present = family.variants.filter((v) => obtained.has(v.path));
    if (family.kind === 'other') {
      for (const v of present) published.push({ path: v.path, staged: obtained.get(v.path)!, size: v.size, checksums: v.checksums });
      continue;
    }
    const readable = present.find((v) => codecOf(v.path) !== null);
    if (!readable) throw new SuiteError(`suite ${suite}: no readable variant of ${family.base} upstream (tried ${family.variants.map((v) => v.path).join(', ')})`);
    const filtered = filter ? join(outDir, family.base) : null;
    await readIndex(job, family, readable, obtained.get(readable.path)!, filtered);
    if (!filtered) {
      for (const v of present) published.push({ path: v.path, staged: obtained.get(v.path)!, size: v.size, checksums: v.checksums });
    } else {
      published.push(...(await regenerate(family, filtered, outDir, release.algos)));
    }
  }

  // 3. Index entries: by-hash copies, plain names.
  const byHashGeneration: ByHashEntry[] = [];
  if (release.acquireByHash) {
    const { field, algo } = byHashAlgo(release);
    for (const p of published) {
      const hex = p.checksums[algo] ?? (await hashFile(p.staged, [algo])).checksums[algo]!;
      const rel = `${dists}/${byHashPath(p.path, field, hex)}`;
      if (job.emittedIndexes.has(rel)) continue;
      const staged = join(outDir, 'by-hash', rel);
      await linkOrCopy(p.staged, staged);
      emitIndex(job, rel, staged, STAGE_BY_HASH);
      byHashGeneration.push([rel, p.size, p.checksums.sha256!]);
    }
  }
  for (const p of published) emitIndex(job, `${dists}/${p.path}`, p.staged, STAGE_INDEX);

  // 4. Release, Release.gpg, InRelease: upstream's from this fetch, or ours when filtered.
  if (!filter) {
    if (root.release) emitIndex(job, `${dists}/Release`, root.release, STAGE_RELEASE);
    if (root.release && root.releaseGpg) emitIndex(job, `${dists}/Release.gpg`, root.releaseGpg, STAGE_RELEASE_GPG);
    if (root.inRelease) emitIndex(job, `${dists}/InRelease`, root.inRelease, STAGE_IN_RELEASE);
  } else {
    await publishOwnRelease(job, release, published, outDir);
  }

  // 5. Previous by-hash generations still on disk stay for clients holding an older InRelease.
  const kept = await keepOldByHash(job);
  ctx.log.info(
    { suite, indexFiles: published.length, reusedIndexFiles: reused, byHash: byHashGeneration.length, byHashKept: kept.flat().length, poolFiles: job.pool.count },
    `apt: suite ${suite} discovered`,
  );
  return { root: root.fingerprint, byHash: [byHashGeneration, ...kept] };
}

function byHashPath(path: string, field: string, hex: string): string {
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '' : `${path.slice(0, slash)}/`;
  return `${dir}by-hash/${field}/${hex}`;
}

function emitIndex(job: SuiteJob, path: string, stagedFile: string, stage: number): void {
  job.emittedIndexes.add(path);
  job.ctx.emit({ kind: 'index', path, stagedFile, stage });
}

function warnAboutRelease(ctx: DiscoverContext, suite: string, release: Release, opts: AptOptions): void {
  const validUntil = release.fields.find(([n]) => n.toLowerCase() === 'valid-until')?.[1];
  if (validUntil && Date.parse(validUntil) < Date.now()) {
    ctx.log.warn({ suite, validUntil }, `apt: suite ${suite}: upstream Release expired (Valid-Until ${validUntil}); apt clients will refuse it`);
  }
  // With "No-Support-for-Architecture-all: Packages", arch:all packages are also listed per
  // architecture and apt does not read binary-all; otherwise it does.
  const allAlsoPerArch = release.fields.some(([n, v]) => n.toLowerCase() === 'no-support-for-architecture-all' && v.trim() === 'Packages');
  if (release.architectures.includes('all') && !opts.arches.includes('all') && !allAlsoPerArch) {
    ctx.log.warn({ suite }, `apt: suite ${suite} has binary-all indexes; add --arch all or apt clients will miss them`);
  }
}

async function readIndex(job: SuiteJob, family: IndexFamily, variant: ReleaseFile, file: string, filteredOut: string | null): Promise<void> {
  const { ctx, filter, root } = job;
  const where = `dists/${root.suite}/${variant.path}`;
  const kind = family.kind === 'packages' ? 'binary' : 'source';
  let out: ReturnType<typeof createWriteStream> | null = null;
  if (filteredOut) {
    await fs.mkdir(dirname(filteredOut), { recursive: true });
    out = createWriteStream(filteredOut);
  }
  let n = 0;
  try {
    for await (const stanza of streamStanzas(readText(file), (m) => ctx.reportProblem(`${where}: ${m}`))) {
      if (++n % 4096 === 0 && ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
      if (filter && !filter(stanza, kind)) continue;
      const files = kind === 'binary' ? packageFile(stanza) : sourceFiles(stanza);
      if (typeof files === 'string') {
        ctx.reportProblem(`${where}: ${files}`);
        continue;
      }
      for (const f of Array.isArray(files) ? files : [files]) job.pool.add(f, where);
      if (out && !out.write(`${stanza.raw}\n\n`)) await new Promise<void>((r) => out!.once('drain', () => r()));
    }
  } finally {
    if (out) await new Promise<void>((resolve, reject) => out!.once('error', reject).end(() => resolve()));
  }
}

/** Writes the filtered index in every compression the Release listed (plain/gz/xz). */
async function regenerate(family: IndexFamily, plain: string, outDir: string, algos: ChecksumAlgo[]): Promise<Published[]> {
  const out: Published[] = [];
  const want = new Set(family.variants.map((v) => codecOf(v.path)).filter((c) => c !== null));
  if (want.size === 0) want.add('plain');
  for (const codec of ['plain', 'gz', 'xz'] as const) {
    if (!want.has(codec)) continue;
    const path = codec === 'plain' ? family.base : `${family.base}.${codec}`;
    const staged = join(outDir, path);
    if (codec !== 'plain') await compressFile(plain, staged, codec);
    out.push({ path, staged, ...(await hashFile(staged, algos)) });
  }
  if (!want.has('plain')) {
    // The uncompressed copy was only the source of the compressed ones: keep it out of the way.
    await fs.rename(plain, `${plain}.unpublished`);
  }
  return out;
}

async function publishOwnRelease(job: SuiteJob, release: Release, published: Published[], outDir: string): Promise<void> {
  const { ctx, opts, root } = job;
  const dists = `dists/${root.suite}`;
  for (const p of published) {
    const missing = release.algos.filter((a) => !p.checksums[a]);
    if (missing.length) Object.assign(p.checksums, (await hashFile(p.staged, missing)).checksums);
  }
  // Signed-By names upstream's keys; a re-signed (or unsigned) Release must not claim them.
  const fields = release.fields.filter(([n]) => n.toLowerCase() !== 'signed-by');
  const text = renderRelease(fields, published, release.algos);
  const releaseFile = join(outDir, 'Release');
  await fs.writeFile(releaseFile, text);
  emitIndex(job, `${dists}/Release`, releaseFile, STAGE_RELEASE);
  if (opts.signKey) {
    const inRelease = join(outDir, 'InRelease');
    const releaseGpg = join(outDir, 'Release.gpg');
    await signRelease(releaseFile, inRelease, releaseGpg, opts.signKey);
    emitIndex(job, `${dists}/Release.gpg`, releaseGpg, STAGE_RELEASE_GPG);
    emitIndex(job, `${dists}/InRelease`, inRelease, STAGE_IN_RELEASE);
  } else {
    ctx.log.warn(
      { suite: root.suite },
      `apt: suite ${root.suite}: filters changed the indexes, so upstream's signature no longer applies and no --sign-key was given: publishing an UNSIGNED Release (clients need [trusted=yes] or your own signing)`,
    );
  }
}

/**
 * Emits `keep` for the by-hash files of the last --by-hash-keep generations still on disk;
 * returns them per generation, newest first. The newest is the one the mirror serves now: the
 * cursor's first generation, unless a run the engine stored no cursor for (it had problems, or
 * the cursor was reset) published another one since.
 */
async function keepOldByHash(job: SuiteJob): Promise<ByHashEntry[][]> {
  const { ctx, opts, previous } = job;
  if (opts.byHashKeep === 0) return [];
  const older = previous?.byHash ?? [];
  const served = await servedByHash(job);
  const recorded = new Set((older[0] ?? []).map(([path]) => path));
  const candidates = served.some(([path]) => !recorded.has(path)) ? [served, ...older] : older;
  const kept = new Set<string>();
  const generations: ByHashEntry[][] = [];
  for (const generation of candidates.slice(0, opts.byHashKeep)) {
    const still: ByHashEntry[] = [];
    for (const entry of generation) {
      const [path, size] = entry;
      // A path also in the current or a newer generation is emitted (and counted) there once.
      if (job.emittedIndexes.has(path) || kept.has(path)) continue;
      const st = await fs.lstat(join(ctx.dest, path)).catch(() => null);
      if (!st || !st.isFile() || st.size !== size) continue;
      kept.add(path);
      ctx.emit({ kind: 'keep', path });
      still.push(entry);
    }
    generations.push(still);
  }
  return generations;
}

/** The by-hash files, present on disk, of the Release the mirror publishes now ([] if none). */
async function servedByHash(job: SuiteJob): Promise<ByHashEntry[]> {
  const dists = `dists/${job.root.suite}`;
  const read = (name: string) => fs.readFile(join(job.ctx.dest, dists, name), 'utf8');
  let release: Release;
  try {
    release = parseRelease(await read('Release').catch(async () => clearsignedText(await read('InRelease'))));
  } catch {
    return []; // nothing published yet (or not readable): no generation to keep
  }
  if (!release.acquireByHash) return [];
  const { field, algo } = byHashAlgo(release);
  const served: ByHashEntry[] = [];
  for (const f of release.files.values()) {
    const path = `${dists}/${byHashPath(f.path, field, f.checksums[algo]!)}`;
    const st = await fs.lstat(join(job.ctx.dest, path)).catch(() => null);
    if (st?.isFile() && st.size === f.size) served.push([path, f.size, f.checksums.sha256!]);
  }
  return served;
}
