// conda channel adapter: `mirror sync conda <channel-url> <dest> [--subdir S ...]`.
//
// Upstream is a channel URL (subdirs from --subdir, else from channeldata.json) or a URL ending
// in one subdir (`.../pkgs/main/win-64`: that subdir only). The mirror root is the channel root:
// `<dest>/<subdir>/<package>`, `<dest>/<subdir>/repodata.json`, `<dest>/channeldata.json`.
// Per subdir, repodata.json and its variants (.bz2, .zst, current_repodata.json; each optional)
// are fetched into staging, repodata.json is stream-scanned and every package in `packages` and
// `packages.conda` is emitted as a blob with its size and sha256 (md5 when sha256 is absent).
// Publish order: variants (stage 0), repodata.json (stage 1), channeldata.json (stage 2).
// Upstream bytes are published as-is unless the mirror's content differs from upstream's
// (name filters, --keep-latest, a rejected record, or `info.base_url`): then repodata.json and
// current_repodata.json are rewritten to list exactly the mirrored files, without base_url, and
// .bz2/.zst are regenerated from the rewritten file.
// Incremental: the cursor keeps each repodata.json's ETag/Last-Modified; when every one answers
// 304 and the options are unchanged, discovery is an empty delta.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { DiscoverContext, DiscoverResult, Source, StagedFetch } from '../types.js';
import { UsageError } from '../../errors.js';
import { RepodataFormatError, rawText, scanRepodata, type PackageSection } from './repodata-scanner.js';
import { RepodataWriter } from './repodata-writer.js';
import { compressFile, type RepodataCompression } from './compress.js';
import { LatestVersions, nameFilter, type NameFilter } from './filters.js';

/** A URL path segment that names a conda subdir (platform-arch or noarch). */
const KNOWN_SUBDIR = /^(noarch|(linux|osx|win|zos|freebsd|emscripten|wasi)-[a-z0-9_]+)$/;
/** Any subdir name we accept from channeldata.json or --subdir. */
const SUBDIR_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;
const HEX32 = /^[0-9a-fA-F]{32}$/;
const CURSOR_VERSION = 1;

const VARIANTS = [
  { name: 'repodata.json.bz2', compression: 'bz2' as RepodataCompression },
  { name: 'repodata.json.zst', compression: 'zst' as RepodataCompression },
  { name: 'current_repodata.json', compression: null },
] as const;

interface Validators {
  etag?: string;
  lastModified?: string;
}

interface CondaCursor {
  version: number;
  /** Everything that shapes the output; a different value forces a full run. */
  shape: string;
  subdirs: string[];
  channeldata?: Validators;
  repodata: Record<string, Validators>;
}

interface Channel {
  /** Channel root URL with a trailing slash. */
  url: string;
  subdirs: string[] | null;
  /** Whether channeldata.json is mirrored (not when the URL names a single subdir). */
  withChannelData: boolean;
}

interface Options {
  include: string[];
  exclude: string[];
  keepLatest: number | null;
}

function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String).filter((s) => s !== '');
}

function parseOptions(ctx: DiscoverContext): Options {
  const raw = ctx.options['keep-latest'];
  let keepLatest: number | null = null;
  if (raw !== undefined && raw !== null && raw !== false) {
    keepLatest = Number(raw);
    if (!Number.isSafeInteger(keepLatest) || keepLatest < 1) {
      throw new UsageError(`--keep-latest must be a positive integer, got ${JSON.stringify(raw)}`);
    }
  }
  return { include: stringList(ctx.options.include), exclude: stringList(ctx.options.exclude), keepLatest };
}

function parseChannel(upstream: string, subdirOption: string[]): Channel {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new UsageError(`conda: not a URL: ${upstream}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`conda: channel URL must be http(s): ${upstream}`);
  }
  url.search = '';
  url.hash = '';
  const segments = url.pathname.split('/').filter((s) => s !== '');
  for (const s of subdirOption) {
    if (!SUBDIR_NAME.test(s)) throw new UsageError(`conda: invalid --subdir ${JSON.stringify(s)}`);
  }
  const last = segments.at(-1);
  if (last !== undefined && KNOWN_SUBDIR.test(last)) {
    if (subdirOption.length > 0) {
      throw new UsageError(`conda: ${upstream} already names subdir ${last}; pass the channel URL with --subdir`);
    }
    segments.pop();
    url.pathname = segments.map((s) => `${s}/`).join('') || '/';
    if (!url.pathname.startsWith('/')) url.pathname = `/${url.pathname}`;
    return { url: url.href, subdirs: [last], withChannelData: false };
  }
  url.pathname = `/${segments.map((s) => `${s}/`).join('')}`;
  return { url: url.href, subdirs: subdirOption.length > 0 ? [...new Set(subdirOption)] : null, withChannelData: true };
}

function validators(fetched: StagedFetch): Validators {
  return { etag: fetched.etag, lastModified: fetched.lastModified };
}

function hasValidators(v: Validators | undefined): v is Validators {
  return !!v && (!!v.etag || !!v.lastModified);
}

/** Why a package filename from repodata is unusable, or null. */
function checkFilename(section: PackageSection, filename: string): string | null {
  if (filename.includes('/')) return 'filename contains "/"';
  if (filename.includes('\\')) return 'filename contains "\\"';
  if (/[\x00-\x1f\x7f]/.test(filename)) return 'filename contains a control character';
  if (filename.startsWith('.')) return 'filename starts with "."';
  const ext = section === 'packages' ? '.tar.bz2' : '.conda';
  if (!filename.endsWith(ext) || filename.length === ext.length) return `filename in "${section}" must end in ${ext}`;
  return null;
}

interface PackageRecord {
  name?: unknown;
  version?: unknown;
  size?: unknown;
  sha256?: unknown;
  md5?: unknown;
}

/** Why a record cannot be mirrored, or null. */
function checkRecord(rec: PackageRecord): string | null {
  if (typeof rec.size !== 'number' || !Number.isSafeInteger(rec.size) || rec.size < 0) return 'missing or invalid size';
  if (rec.sha256 !== undefined && rec.sha256 !== null && !(typeof rec.sha256 === 'string' && HEX64.test(rec.sha256))) {
    return 'invalid sha256';
  }
  if (rec.md5 !== undefined && rec.md5 !== null && !(typeof rec.md5 === 'string' && HEX32.test(rec.md5))) {
    return 'invalid md5';
  }
  if (typeof rec.sha256 !== 'string' && typeof rec.md5 !== 'string') return 'no sha256 or md5';
  return null;
}

/** How one scan pass treats records. */
interface Pass {
  report: boolean;
  emit: boolean;
  writer: RepodataWriter | null;
  collect: LatestVersions | null;
  keep: Set<string> | null;
  /** Filenames written by `writer` (for filtering current_repodata.json). */
  written: Set<string> | null;
}

class SubdirScan {
  rejected = 0;
  emitted = 0;
  baseUrl: string;
  hasBaseUrl = false;

  constructor(
    private readonly ctx: DiscoverContext,
    readonly subdir: string,
    readonly repodataUrl: string,
    private readonly file: string,
    private readonly filter: NameFilter,
  ) {
    this.baseUrl = new URL('./', repodataUrl).href;
  }

  /**
   * Reads `info` before any pass: it normally leads the document, so the scan stops at the
   * first member or record; when records come first, the whole file is scanned for it.
   */
  async readInfo(): Promise<void> {
    const stop = new Error('stop');
    let recordFirst = false;
    try {
      await scanRepodata(
        this.file,
        {
          onRecord: () => {
            recordFirst = true;
            throw stop;
          },
          onMember: (key, raw) => {
            if (key === 'info') {
              this.takeInfo(raw);
              throw stop;
            }
          },
        },
        this.ctx.signal,
      );
    } catch (err) {
      if (err !== stop) throw err;
    }
    if (recordFirst) {
      await scanRepodata(
        this.file,
        { onRecord: () => {}, onMember: (key, raw) => key === 'info' && this.takeInfo(raw) },
        this.ctx.signal,
      );
    }
  }

  private takeInfo(raw: Buffer): void {
    const info = JSON.parse(raw.toString('utf8')) as unknown;
    if (typeof info !== 'object' || info === null || Array.isArray(info)) {
      throw new RepodataFormatError('"info" is not an object');
    }
    const baseUrl = (info as Record<string, unknown>).base_url;
    if (baseUrl === undefined || baseUrl === null || baseUrl === '') return;
    if (typeof baseUrl !== 'string') throw new RepodataFormatError('"info.base_url" is not a string');
    let resolved: URL;
    try {
      resolved = new URL(baseUrl, this.repodataUrl);
    } catch {
      throw new RepodataFormatError(`"info.base_url" is not a URL: ${baseUrl}`);
    }
    if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') {
      throw new RepodataFormatError(`"info.base_url" must be http(s): ${baseUrl}`);
    }
    if (!resolved.pathname.endsWith('/')) resolved.pathname += '/';
    this.baseUrl = resolved.href;
    this.hasBaseUrl = true;
  }

  async run(pass: Pass): Promise<void> {
    const { writer } = pass;
    await scanRepodata(
      this.file,
      {
        onMember: (key, raw) => writer?.member(key, raw),
        onSectionStart: (section) => writer?.sectionStart(section),
        onSectionEnd: () => writer?.sectionEnd(),
        onRecord: (section, filename, raw) => this.record(pass, section, filename, raw),
      },
      this.ctx.signal,
    );
  }

  private record(pass: Pass, section: PackageSection, filename: string, raw: Buffer): void {
    let rec: PackageRecord;
    try {
      rec = JSON.parse(rawText(raw)) as PackageRecord;
    } catch (err) {
      throw new RepodataFormatError(`record ${JSON.stringify(filename)}: ${(err as Error).message}`);
    }
    const problem = checkFilename(section, filename) ?? checkRecord(rec);
    if (problem) {
      if (pass.report) {
        this.rejected++;
        this.ctx.reportProblem(`conda ${this.subdir}: rejected ${JSON.stringify(filename)}: ${problem}`);
      }
      return;
    }
    if (this.filter.active || pass.collect || pass.keep) {
      if (typeof rec.name !== 'string') {
        if (pass.report) {
          this.rejected++;
          this.ctx.reportProblem(`conda ${this.subdir}: rejected ${JSON.stringify(filename)}: no package name`);
        }
        return;
      }
      if (!this.filter.accepts(rec.name)) return;
    }
    if (pass.collect) {
      if (typeof rec.version !== 'string') {
        this.rejected++;
        this.ctx.reportProblem(`conda ${this.subdir}: rejected ${JSON.stringify(filename)}: no version`);
        return;
      }
      pass.collect.add(rec.name as string, rec.version, filename);
      return;
    }
    if (pass.keep && !pass.keep.has(filename)) return;
    if (pass.emit) {
      this.emitted++;
      this.ctx.emit({
        kind: 'blob',
        path: `${this.subdir}/${filename}`,
        url: this.baseUrl + encodeURIComponent(filename),
        size: rec.size as number,
        checksums:
          typeof rec.sha256 === 'string' ? { sha256: rec.sha256.toLowerCase() } : { md5: (rec.md5 as string).toLowerCase() },
      });
    }
    if (pass.writer) {
      pass.writer.record(filename, raw);
      pass.written?.add(filename);
    }
  }
}

async function fetchRequired(
  ctx: DiscoverContext,
  url: string,
  name: string,
  previous: Validators | undefined,
): Promise<StagedFetch> {
  const fetched = await ctx.fetchToStaging(url, name, { ...previous, optional: true });
  if (!fetched) throw new Error(`conda: ${url} not found (404)`);
  return fetched;
}

function parseChannelData(text: string, ctx: DiscoverContext): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`conda: channeldata.json is not valid JSON: ${(err as Error).message}`);
  }
  const subdirs = (doc as { subdirs?: unknown } | null)?.subdirs;
  if (!Array.isArray(subdirs)) throw new Error('conda: channeldata.json has no "subdirs" list; pass --subdir');
  const good: string[] = [];
  for (const s of subdirs) {
    if (typeof s === 'string' && SUBDIR_NAME.test(s)) good.push(s);
    else ctx.reportProblem(`conda: channeldata.json names an invalid subdir ${JSON.stringify(s)}`);
  }
  if (good.length === 0) throw new Error('conda: channeldata.json lists no usable subdir; pass --subdir');
  return [...new Set(good)];
}

async function discover(upstream: string, outer: DiscoverContext): Promise<DiscoverResult> {
  // The engine stores the cursor even after upstream problems; a run that reported any keeps
  // no validators, so the next run is full and reports them again instead of a silent 304.
  let problems = 0;
  const ctx: DiscoverContext = {
    ...outer,
    reportProblem: (message) => {
      problems++;
      outer.reportProblem(message);
    },
  };
  const options = parseOptions(ctx);
  const channel = parseChannel(upstream, stringList(ctx.options.subdir));
  const shape = JSON.stringify({ channel, options });
  const previous = ctx.cursor as CondaCursor | null;
  const usable = previous?.version === CURSOR_VERSION && previous.shape === shape ? previous : null;

  // 1. channeldata.json: the subdir list (when not given) and the root index.
  let channelData: StagedFetch | null = null;
  let subdirs = channel.subdirs;
  if (channel.withChannelData) {
    const url = `${channel.url}channeldata.json`;
    channelData = await ctx.fetchToStaging(url, 'channeldata.json', { ...usable?.channeldata, optional: true });
    if (!channelData && !subdirs) throw new UsageError(`conda: ${url} not found; pass --subdir`);
    if (!subdirs) {
      subdirs = channelData!.status === 304 ? usable!.subdirs : parseChannelData(await readFile(channelData!.file!, 'utf8'), ctx);
    }
  }
  const subdirList = subdirs!;

  // 2. Each subdir's repodata.json, conditionally when the last run left validators.
  const fetchStarted = Date.now();
  const repodataUrl = (subdir: string) => `${channel.url}${subdir}/repodata.json`;
  const stagedName = (subdir: string, name: string) => `${subdir}.${name}`;
  const fetched = new Map<string, StagedFetch>();
  await Promise.all(
    subdirList.map(async (subdir) => {
      const prev = usable?.repodata[subdir];
      const f = await fetchRequired(ctx, repodataUrl(subdir), stagedName(subdir, 'repodata.json'), hasValidators(prev) ? prev : undefined);
      fetched.set(subdir, f);
    }),
  );

  ctx.log.info({ subdirs: subdirList, ms: Date.now() - fetchStarted }, 'conda: fetched repodata.json');
  const sameSubdirs = !!usable && JSON.stringify(usable.subdirs) === JSON.stringify(subdirList);
  const channelDataGone = !!usable?.channeldata && !channelData;
  const allUnchanged = sameSubdirs && !channelDataGone && [...fetched.values()].every((f) => f.status === 304);
  if (allUnchanged) {
    const cursor: CondaCursor = { ...usable!, channeldata: channelData?.status === 200 ? validators(channelData) : usable!.channeldata };
    if (channelData?.status === 200) {
      ctx.log.info('conda: every repodata.json unchanged; republishing channeldata.json only');
      ctx.emit({ kind: 'index', path: 'channeldata.json', stagedFile: channelData.file!, stage: 2 });
    } else {
      ctx.log.info('conda: upstream unchanged (304)');
    }
    return { mode: 'delta', cursor };
  }

  // 3. Full run: refetch whatever answered 304, then scan every subdir.
  if (channelData?.status === 304) {
    channelData = await ctx.fetchToStaging(`${channel.url}channeldata.json`, 'channeldata.json', { optional: true });
  }
  for (const subdir of subdirList) {
    if (fetched.get(subdir)!.status === 304) {
      fetched.set(subdir, await fetchRequired(ctx, repodataUrl(subdir), stagedName(subdir, 'repodata.json'), undefined));
    }
  }

  const filter = nameFilter(options.include, options.exclude);
  const cursor: CondaCursor = {
    version: CURSOR_VERSION,
    shape,
    subdirs: subdirList,
    channeldata: channelData ? validators(channelData) : undefined,
    repodata: {},
  };
  for (const subdir of subdirList) {
    const repodata = fetched.get(subdir)!;
    cursor.repodata[subdir] = validators(repodata);
    try {
      await mirrorSubdir(ctx, subdir, repodataUrl(subdir), repodata.file!, filter, options, stagedName);
    } catch (err) {
      if (err instanceof RepodataFormatError) throw new Error(`conda: ${subdir}/repodata.json: ${err.message}`);
      throw err;
    }
  }
  if (channelData) ctx.emit({ kind: 'index', path: 'channeldata.json', stagedFile: channelData.file!, stage: 2 });
  if (problems > 0) cursor.repodata = {};
  return { mode: 'full', cursor };
}

async function mirrorSubdir(
  ctx: DiscoverContext,
  subdir: string,
  repodataUrl: string,
  file: string,
  filter: NameFilter,
  options: Options,
  stagedName: (subdir: string, name: string) => string,
): Promise<void> {
  const variantsFetch = Promise.all(
    VARIANTS.map(async (v) => {
      const got = await ctx.fetchToStaging(new URL(v.name, repodataUrl).href, stagedName(subdir, v.name), { optional: true });
      return { ...v, file: got?.file ?? null };
    }),
  );
  // Don't leave the variant fetches unobserved if scanning throws first.
  variantsFetch.catch(() => {});

  const scan = new SubdirScan(ctx, subdir, repodataUrl, file, filter);
  const rewriteFile = join(ctx.stagingDir, stagedName(subdir, 'repodata.rewritten.json'));
  const reshaping = filter.active || options.keepLatest !== null;

  const started = Date.now();
  await scan.readInfo();
  const runPass = (pass: Pass) => scan.run(pass);

  // Pass 1: validate, emit, and (when the output is already known to differ) write.
  let written: Set<string> | null = null;
  if (options.keepLatest !== null) {
    const latest = new LatestVersions(options.keepLatest);
    await runPass({ report: true, emit: false, writer: null, collect: latest, keep: null, written: null });
    const keep = latest.select();
    const writer = new RepodataWriter(rewriteFile);
    written = new Set();
    await runPass({ report: false, emit: true, writer, collect: null, keep, written }).catch((err) => {
      writer.abandon();
      throw err;
    });
    writer.finish();
  } else {
    const writer = reshaping ? new RepodataWriter(rewriteFile) : null;
    written = writer ? new Set() : null;
    await runPass({ report: true, emit: true, writer, collect: null, keep: null, written }).catch((err) => {
      writer?.abandon();
      throw err;
    });
    writer?.finish();
    if (!writer && (scan.rejected > 0 || scan.hasBaseUrl)) {
      // The published index must not name a rejected file nor point at upstream's base_url.
      const rewriter = new RepodataWriter(rewriteFile);
      written = new Set();
      await runPass({ report: false, emit: false, writer: rewriter, collect: null, keep: null, written }).catch((err) => {
        rewriter.abandon();
        throw err;
      });
      rewriter.finish();
    }
  }

  ctx.log.info({ subdir, packages: scan.emitted, rejected: scan.rejected, ms: Date.now() - started }, `conda: scanned ${subdir}/repodata.json`);
  const variants = await variantsFetch;
  if (written === null) {
    // Upstream bytes as-is: one snapshot, published variants first.
    for (const v of variants) {
      if (v.file) ctx.emit({ kind: 'index', path: `${subdir}/${v.name}`, stagedFile: v.file, stage: 0 });
    }
    ctx.emit({ kind: 'index', path: `${subdir}/repodata.json`, stagedFile: file, stage: 1 });
    return;
  }

  // Rewritten: regenerate compressed variants (in parallel child processes), filter
  // current_repodata.json to what is mirrored.
  ctx.log.info(
    { subdir, mirrored: written.size, rejected: scan.rejected },
    'conda: publishing a rewritten repodata.json',
  );
  const regenerated = await Promise.all(
    variants.map(async (v) => {
      if (!v.file) return null;
      const out = join(ctx.stagingDir, stagedName(subdir, `rewritten.${v.name}`));
      if (v.compression) {
        if (await compressFile(rewriteFile, out, v.compression)) return { name: v.name, out };
        const tool = v.compression === 'bz2' ? 'bzip2' : 'zstd';
        ctx.log.warn(`conda: cannot regenerate ${subdir}/${v.name} (${tool} not installed); not publishing it`);
        return null;
      }
      if (await filterCurrent(ctx, v.file, out, written)) return { name: v.name, out };
      ctx.reportProblem(`conda ${subdir}: current_repodata.json is not valid repodata JSON; not publishing it`);
      return null;
    }),
  );
  for (const r of regenerated) {
    if (r) ctx.emit({ kind: 'index', path: `${subdir}/${r.name}`, stagedFile: r.out, stage: 0 });
  }
  ctx.emit({ kind: 'index', path: `${subdir}/repodata.json`, stagedFile: rewriteFile, stage: 1 });
}

/**
 * Writes `input` (a current_repodata.json) to `output` keeping only records in `mirrored`.
 * False when `input` is malformed.
 */
async function filterCurrent(ctx: DiscoverContext, input: string, output: string, mirrored: Set<string>): Promise<boolean> {
  const writer = new RepodataWriter(output);
  try {
    await scanRepodata(
      input,
      {
        onMember: (key, raw) => writer.member(key, raw),
        onSectionStart: (section) => writer.sectionStart(section),
        onSectionEnd: () => writer.sectionEnd(),
        onRecord: (_section, filename, raw) => {
          if (mirrored.has(filename)) writer.record(filename, raw);
        },
      },
      ctx.signal,
    );
  } catch (err) {
    writer.abandon();
    if (err instanceof RepodataFormatError) return false;
    throw err;
  }
  writer.finish();
  return true;
}

export const condaSource: Source = {
  kind: 'conda',
  summary: 'conda channel: subdirs with their packages, repodata.json published last',
  options: [
    { flag: 'subdir', type: 'string[]', description: 'subdir to mirror (repeatable); default: every subdir in channeldata.json' },
    { flag: 'include', type: 'string[]', description: 'mirror only package names matching this glob (repeatable)' },
    { flag: 'exclude', type: 'string[]', description: 'skip package names matching this glob (repeatable)' },
    { flag: 'keep-latest', type: 'number', description: 'keep only the N latest versions of each package (all their builds)' },
  ],
  discover,
};
