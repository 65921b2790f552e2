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
// Parsing runs in a worker thread (subdir-scan.ts) so that it overlaps with the engine's work.
// Incremental: the cursor keeps each repodata.json's ETag/Last-Modified; when every one answers
// 304 and the options are unchanged, discovery is an empty delta.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { DiscoverContext, DiscoverResult, Source, StagedFetch } from '../types.js';
import { UsageError } from '../../errors.js';
import { stringList } from '../name-filter.js';
import { RepodataFormatError } from './repodata-scanner.js';
import { compressFile, type RepodataCompression } from './compress.js';
import type { CurrentFiles, ScanJob, ScanOutcome } from './subdir-scan.js';
import type { ScanWorkerMessage } from './scan-worker.js';

/** A URL path segment that names a conda subdir (platform-arch or noarch). */
const KNOWN_SUBDIR = /^(noarch|(linux|osx|win|zos|freebsd|emscripten|wasi)-[a-z0-9_]+)$/;
/** Any subdir name we accept from channeldata.json or --subdir. */
const SUBDIR_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const CURSOR_VERSION = 1;

const CURRENT = 'current_repodata.json';
const VARIANTS = [
  { name: 'repodata.json.bz2', compression: 'bz2' as RepodataCompression },
  { name: 'repodata.json.zst', compression: 'zst' as RepodataCompression },
  { name: CURRENT, compression: null },
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

async function discover(upstream: string, ctx: DiscoverContext): Promise<DiscoverResult> {
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
      await mirrorSubdir(ctx, subdir, repodataUrl(subdir), repodata.file!, options, stagedName);
    } catch (err) {
      if (err instanceof RepodataFormatError) throw new Error(`conda: ${subdir}/repodata.json: ${err.message}`);
      throw err;
    }
  }
  if (channelData) ctx.emit({ kind: 'index', path: 'channeldata.json', stagedFile: channelData.file!, stage: 2 });
  return { mode: 'full', cursor };
}

/** Runs scanSubdir in a worker thread, recording what it reports through `ctx`. */
function scanInWorker(ctx: DiscoverContext, job: ScanJob, current: Promise<CurrentFiles | null>): Promise<ScanOutcome> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./scan-worker.js', import.meta.url), { workerData: job });
    let settled = false;
    const settle = (err: Error | null, outcome?: ScanOutcome) => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      if (err) {
        void worker.terminate();
        reject(err);
      } else resolve(outcome!);
    };
    const onAbort = () => settle(new Error('interrupted'));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: ScanWorkerMessage) => {
      try {
        switch (m.type) {
          case 'blobs':
            for (let i = 0; i < m.rows.length; i += 5) {
              ctx.emit({
                kind: 'blob',
                path: m.rows[i] as string,
                url: m.rows[i + 1] as string,
                size: m.rows[i + 2] as number,
                checksums: { [m.rows[i + 3] as 'sha256' | 'md5']: m.rows[i + 4] as string },
              });
            }
            break;
          case 'problem':
            ctx.reportProblem(m.message);
            break;
          case 'need-current':
            current.then(
              (files) => worker.postMessage(files),
              (err: Error) => settle(err),
            );
            break;
          case 'done':
            settle(null, m.outcome);
            break;
          case 'error':
            settle(m.format ? new RepodataFormatError(m.message) : new Error(m.message));
            break;
        }
      } catch (err) {
        settle(err as Error);
      }
    });
    worker.on('error', (err) => settle(err));
    worker.on('exit', (code) => settle(new Error(`conda: repodata scan worker exited with code ${code}`)));
  });
}

async function mirrorSubdir(
  ctx: DiscoverContext,
  subdir: string,
  repodataUrl: string,
  file: string,
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
  const current = variantsFetch.then((variants) => {
    const staged = variants.find((v) => v.name === CURRENT)?.file;
    return staged ? { input: staged, output: join(ctx.stagingDir, stagedName(subdir, `rewritten.${CURRENT}`)) } : null;
  });
  current.catch(() => {});

  const started = Date.now();
  const job: ScanJob = {
    subdir,
    repodataUrl,
    file,
    include: options.include,
    exclude: options.exclude,
    keepLatest: options.keepLatest,
    rewriteFile: join(ctx.stagingDir, stagedName(subdir, 'repodata.rewritten.json')),
  };
  const outcome = await scanInWorker(ctx, job, current);
  ctx.log.info(
    { subdir, packages: outcome.emitted, rejected: outcome.rejected, rewritten: outcome.rewritten, ms: Date.now() - started },
    `conda: scanned ${subdir}/repodata.json`,
  );
  const variants = await variantsFetch;
  if (!outcome.rewritten) {
    // Upstream bytes as-is: one snapshot, published variants first.
    for (const v of variants) {
      if (v.file) ctx.emit({ kind: 'index', path: `${subdir}/${v.name}`, stagedFile: v.file, stage: 0 });
    }
    ctx.emit({ kind: 'index', path: `${subdir}/repodata.json`, stagedFile: file, stage: 1 });
    return;
  }

  // Rewritten: regenerate the compressed variants (in parallel child processes); the worker
  // already filtered current_repodata.json to the mirrored files.
  const regenerated = await Promise.all(
    variants.map(async (v) => {
      if (!v.file) return null;
      const out = join(ctx.stagingDir, stagedName(subdir, `rewritten.${v.name}`));
      if (!v.compression) return outcome.currentWritten ? { name: v.name, out } : null;
      if (await compressFile(job.rewriteFile, out, v.compression)) return { name: v.name, out };
      const tool = v.compression === 'bz2' ? 'bzip2' : 'zstd';
      ctx.log.warn(`conda: cannot regenerate ${subdir}/${v.name} (${tool} not installed); not publishing it`);
      return null;
    }),
  );
  for (const r of regenerated) {
    if (r) ctx.emit({ kind: 'index', path: `${subdir}/${r.name}`, stagedFile: r.out, stage: 0 });
  }
  ctx.emit({ kind: 'index', path: `${subdir}/repodata.json`, stagedFile: job.rewriteFile, stage: 1 });
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
