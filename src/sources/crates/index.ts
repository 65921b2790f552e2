// crates.io adapter: mirrors a registry in the crates.io git-index format and publishes a sparse
// index that cargo can use from any static web server.
//
// Upstream: a git index (local path or URL), cloned/fetched into <dest>/.mirror/crates-index.git
// with the git CLI. Published layout:
//   crates/{name}/{name}-{version}.crate   blobs, verified against the index `cksum`
//   crates/.../{file}.crate.json           optional per-version sidecars (--sidecars)
//   index/<shard>/<name>                   index files (stage 0), only the mirrored lines
//   index/config.json                      `dl` pointing at --base-url (stage 1, last)
// Incremental: the cursor holds the last mirrored commit and the options that shaped the output;
// the next run diffs the two trees and re-reads only changed index files (mode 'delta').
// A rewritten (squashed) upstream history is diffed tree to tree as well. First run, a lost
// last-mirrored commit, changed options, --limit or --full: full scan.
// Dry run (`mirror plan`): the index is fetched into a scratch repo, and index files are sized,
// not staged.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { nameFilter, stringList } from '../name-filter.js';
import type { DiscoverContext, DiscoverResult, Source } from '../types.js';
import {
  crateFilePath,
  cratesBaseTemplate,
  expandDl,
  isIndexPath,
  nameOfIndexPath,
  parseIndexFile,
  withSlash,
  type IndexLine,
} from './format.js';
import { catFile, diffTrees, hasCommit, pinCommit, readBlob, scratchRepo, syncRepo, treeBlobs } from './git.js';
import { StagingWriter } from './staging.js';

const CRATES_GIT_DIR = join('.mirror', 'crates-index.git');
/** Keeps the last fully mirrored commit (the cursor's) alive in the clone across squashes. */
const LAST_MIRRORED_REF = 'refs/mirror/last-mirrored';

interface CratesCursor {
  commit: string;
  /** The options that shaped the published output; a change forces a full scan. */
  shape: string;
}

interface CratesOptions {
  baseUrl: string;
  dlTemplateOverride?: string;
  excludeYanked: boolean;
  limit?: number;
  include: string[];
  exclude: string[];
  sidecars: boolean;
  full: boolean;
}

function readOptions(raw: Record<string, unknown>): CratesOptions {
  const baseUrl = raw['base-url'];
  if (typeof baseUrl !== 'string' || baseUrl === '') {
    throw new UsageError('crates: --base-url is required (the public URL of the mirror, e.g. https://mirror.example/)');
  }
  if (!/^https?:\/\/[^/]+/.test(baseUrl)) throw new UsageError(`crates: --base-url must be an http(s) URL: ${baseUrl}`);
  const cratesBase = raw['crates-base'];
  if (cratesBase !== undefined && (typeof cratesBase !== 'string' || !/^https?:\/\//.test(cratesBase))) {
    throw new UsageError(`crates: --crates-base must be an http(s) URL: ${String(cratesBase)}`);
  }
  const limit = raw.limit;
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0)) {
    throw new UsageError(`crates: --limit must be a non-negative integer: ${String(limit)}`);
  }
  return {
    baseUrl: withSlash(baseUrl),
    dlTemplateOverride: typeof cratesBase === 'string' ? cratesBaseTemplate(cratesBase) : undefined,
    excludeYanked: raw['exclude-yanked'] === true,
    limit: limit as number | undefined,
    include: stringList(raw.include),
    exclude: stringList(raw.exclude),
    sidecars: raw.sidecars === true,
    full: raw.full === true,
  };
}

/** A string identifying every option that changes what is published. */
function shapeOf(o: CratesOptions): string {
  return JSON.stringify({
    baseUrl: o.baseUrl,
    excludeYanked: o.excludeYanked,
    limit: o.limit ?? null,
    include: [...o.include].sort(),
    exclude: [...o.exclude].sort(),
    sidecars: o.sidecars,
  });
}

function isCursor(c: unknown): c is CratesCursor {
  return typeof c === 'object' && c !== null && typeof (c as CratesCursor).commit === 'string' && typeof (c as CratesCursor).shape === 'string';
}

/** A local path is made absolute (git resolves it against its own cwd otherwise). */
function resolveUpstream(upstream: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(upstream) || /^[^/]+@[^/]+:/.test(upstream)) return upstream;
  const abs = resolve(upstream);
  if (!existsSync(abs)) throw new UsageError(`crates: upstream index not found: ${upstream}`);
  return abs;
}

async function upstreamDlTemplate(gitDir: string, commit: string): Promise<string> {
  const raw = await readBlob(gitDir, `${commit}:config.json`);
  if (!raw) throw new Error('crates: the index has no config.json (use --crates-base to name the download server)');
  let dl: unknown;
  try {
    dl = (JSON.parse(raw.toString('utf8')) as { dl?: unknown }).dl;
  } catch {
    throw new Error('crates: the index config.json is not valid JSON');
  }
  if (typeof dl !== 'string' || !/^https?:\/\//.test(dl)) throw new Error('crates: the index config.json has no http(s) "dl"');
  return dl;
}

/** Emits blobs, sidecars and the staged index file of one crate; tracks mirrored paths. */
class Emitter {
  private readonly writer = new StagingWriter();
  /** Versions emitted so far (also what --limit counts). */
  versions = 0;
  /** Set for a full rescan of a mirror that already publishes an index. */
  reusePublished = false;

  constructor(
    private readonly ctx: DiscoverContext,
    private readonly opts: CratesOptions,
    private readonly dlTemplate: string,
  ) {}

  /** Parses an index file; reports malformed lines when `report` is set. */
  lines(path: string, content: Buffer, report: boolean): IndexLine[] {
    return parseIndexFile(path, content.toString('utf8'), (lineNo, error) => {
      if (report) this.ctx.reportProblem(`crates: index file ${path} line ${lineNo}: ${error}`);
    });
  }

  /** The lines the mirror keeps (filters applied; --limit counted). */
  kept(lines: IndexLine[]): IndexLine[] {
    let out = this.opts.excludeYanked ? lines.filter((l) => !l.version.yanked) : lines;
    if (this.opts.limit !== undefined) {
      const room = Math.max(0, this.opts.limit - this.versions);
      if (out.length > room) out = out.slice(0, room);
    }
    return out;
  }

  /** Emits everything one crate file publishes: its .crate blobs, sidecars and index file. */
  async crateFile(path: string, lines: IndexLine[]): Promise<void> {
    if (lines.length === 0) return;
    this.versions += lines.length;
    const { ctx, opts } = this;
    const indexPath = `index/${path}`;
    for (const { version: v, text } of lines) {
      const file = crateFilePath(v.name, v.vers);
      ctx.emit({ kind: 'blob', path: file, url: expandDl(this.dlTemplate, v), checksums: { sha256: v.cksum } });
      if (opts.sidecars) {
        const sidecar = {
          ...(JSON.parse(text) as Record<string, unknown>),
          crate_file: file,
          crate_url: opts.baseUrl + file,
          index_path: indexPath,
        };
        await this.stage(`${file}.json`, JSON.stringify(sidecar) + '\n', 0);
      }
    }
    await this.stage(indexPath, lines.map((l) => l.text).join('\n') + '\n', 0);
  }

  /**
   * Writes a file under the staging dir and emits it as an index entry once written (a dry run
   * writes nothing and emits the size). In a full rescan of an existing mirror, a file identical
   * to the published one is emitted as a keep instead (nothing written, nothing republished).
   */
  stage(path: string, content: string, stage: number, reuse = this.reusePublished): Promise<void> {
    const { ctx } = this;
    const published = reuse ? join(ctx.dest, path) : null;
    if (ctx.dryRun) {
      const sized = { kind: 'index', path, size: Buffer.byteLength(content), stage } as const;
      if (published === null) {
        ctx.emit(sized);
        return Promise.resolve();
      }
      return this.writer.write(null, content, published, (changed) => ctx.emit(changed ? sized : { kind: 'keep', path }));
    }
    const staged = join(ctx.stagingDir, path);
    return this.writer.write(staged, content, published, (written) =>
      ctx.emit(written ? { kind: 'index', path, stagedFile: staged, stage } : { kind: 'keep', path }),
    );
  }

  /** Waits for every staged file to be written (and emitted). */
  finish(): Promise<void> {
    return this.writer.drain();
  }

  /** Drops the files a set of previously mirrored lines published. */
  dropLines(lines: IndexLine[]): void {
    for (const { version: v } of lines) {
      const file = crateFilePath(v.name, v.vers);
      this.ctx.emit({ kind: 'drop', path: file });
      if (this.opts.sidecars) this.ctx.emit({ kind: 'drop', path: `${file}.json` });
    }
  }

  async configJson(): Promise<void> {
    const config = { dl: `${this.opts.baseUrl}crates/{crate}/{crate}-{version}.crate` };
    await this.stage('index/config.json', JSON.stringify(config, null, 2) + '\n', 1, true);
  }
}

async function fullScan(ctx: DiscoverContext, gitDir: string, commit: string, em: Emitter, wanted: (name: string) => boolean): Promise<void> {
  ctx.log.info({ commit }, 'crates: full scan of the index');
  const requests = async function* () {
    for await (const f of treeBlobs(gitDir, commit, ctx.signal)) {
      if (isIndexPath(f.path)) {
        if (wanted(nameOfIndexPath(f.path))) yield `${f.oid} ${f.path}`;
      } else if (f.path.includes('/') && !f.path.split('/').some((seg) => seg.startsWith('.'))) {
        ctx.log.warn({ path: f.path }, 'crates: skipping a file that is not at its index path');
      }
    }
  };
  let done = 0;
  let lastLog = Date.now();
  const files = await catFile(
    gitDir,
    requests(),
    (path, content) => {
      if (++done % 1000 === 0 && Date.now() - lastLog >= 10_000) {
        lastLog = Date.now();
        ctx.log.info({ files: done, versions: em.versions }, 'crates: scanning the index');
      }
      return em.crateFile(path, em.kept(em.lines(path, content, true)));
    },
    ctx.signal,
  );
  ctx.log.info({ files, versions: em.versions }, 'crates: full scan done');
}

async function deltaScan(ctx: DiscoverContext, gitDir: string, from: string, to: string, em: Emitter, wanted: (name: string) => boolean): Promise<void> {
  const changes = (await diffTrees(gitDir, from, to)).filter((c) => isIndexPath(c.path) && wanted(nameOfIndexPath(c.path)));
  ctx.log.info({ changed: changes.length, from, to }, 'crates: incremental scan of the index');
  // One batch read: each change's old blob (if any), then its new blob (if any).
  const requests: string[] = [];
  changes.forEach((c, i) => {
    if (c.oldOid) requests.push(`${c.oldOid} ${i} old`);
    if (c.newOid) requests.push(`${c.newOid} ${i} new`);
  });
  let old: Buffer | null = null;
  await catFile(
    gitDir,
    requests,
    async (tag, content) => {
      const [index, which] = tag.split(' ');
      const c = changes[Number(index)];
      if (which === 'old' && c.newOid) {
        old = content;
        return;
      }
      const newLines = which === 'new' ? em.lines(c.path, content, true) : [];
      const previous = which === 'old' ? content : old;
      old = null;
      const newKept = em.kept(newLines);
      if (newKept.length > 0) await em.crateFile(c.path, newKept);
      else ctx.emit({ kind: 'drop', path: `index/${c.path}` });
      if (previous) {
        // Versions published before and missing now are dropped. Lines that did not change
        // are still there: only the others need parsing.
        const unchanged = new Set(newLines.map((l) => l.text));
        const changed = previous
          .toString('utf8')
          .split('\n')
          .filter((t) => t.trim() !== '' && !unchanged.has(t.trim()))
          .join('\n');
        const kept = new Set(newKept.map((l) => crateFilePath(l.version.name, l.version.vers)));
        em.dropLines(em.kept(em.lines(c.path, Buffer.from(changed), false)).filter((l) => !kept.has(crateFilePath(l.version.name, l.version.vers))));
      }
    },
    ctx.signal,
  );
}

export const cratesSource: Source = {
  kind: 'crates',
  summary: 'crates.io-format git index (path or URL) -> .crate files + a sparse index cargo can use',
  options: [
    { flag: 'base-url', type: 'string', description: 'public URL of the mirror root (required), e.g. https://mirror.example/' },
    { flag: 'crates-base', type: 'string', description: 'download .crate files from this server instead of the index dl (base URL or dl template)' },
    { flag: 'exclude-yanked', type: 'boolean', default: false, description: 'do not mirror yanked versions' },
    { flag: 'limit', type: 'number', description: 'mirror at most N versions (in index order; always a full scan)' },
    { flag: 'include', type: 'string[]', description: 'mirror only crates whose name matches this glob (repeatable)' },
    { flag: 'exclude', type: 'string[]', description: 'skip crates whose name matches this glob (repeatable)' },
    { flag: 'sidecars', type: 'boolean', default: false, description: 'publish <crate file>.json metadata next to each .crate' },
    { flag: 'full', type: 'boolean', default: false, description: 'rescan the whole index instead of the changes since the last run' },
  ],

  async discover(upstream: string, ctx: DiscoverContext): Promise<DiscoverResult> {
    const opts = readOptions(ctx.options);
    const source = resolveUpstream(upstream);
    const mirrorClone = join(ctx.dest, CRATES_GIT_DIR);
    const haveClone = existsSync(join(mirrorClone, 'HEAD'));
    const prev = isCursor(ctx.cursor) ? ctx.cursor : null;
    let gitDir = mirrorClone;
    let commit: string;
    if (ctx.dryRun) {
      // `mirror plan` writes nothing under <dest>: fetch into a scratch repo instead.
      gitDir = join(ctx.stagingDir, 'crates-index.git');
      commit = await scratchRepo(source, gitDir, haveClone ? mirrorClone : null, ctx.signal);
    } else {
      // Pin the last mirrored commit before fetching: a squashed upstream history then still
      // diffs tree to tree against what the mirror publishes.
      if (prev && haveClone && (await hasCommit(mirrorClone, prev.commit))) {
        await pinCommit(mirrorClone, LAST_MIRRORED_REF, prev.commit);
      }
      commit = await syncRepo(source, mirrorClone, ctx.signal);
    }
    const dlTemplate = opts.dlTemplateOverride ?? (await upstreamDlTemplate(gitDir, commit));
    const shape = shapeOf(opts);
    const em = new Emitter(ctx, opts, dlTemplate);
    const wanted = nameFilter(opts.include, opts.exclude).accepts;

    let why: string | null = null;
    if (!prev) why = 'first run';
    else if (opts.full) why = '--full';
    else if (opts.limit !== undefined) why = '--limit';
    else if (prev.shape !== shape) why = 'options changed';
    else if (!(await hasCommit(gitDir, prev.commit))) why = 'the last mirrored commit is gone';

    if (why !== null) {
      ctx.log.info({ reason: why }, 'crates: full scan');
      em.reusePublished = existsSync(join(ctx.dest, 'index', 'config.json'));
      await fullScan(ctx, gitDir, commit, em, wanted);
    } else if (prev!.commit !== commit) {
      await deltaScan(ctx, gitDir, prev!.commit, commit, em, wanted);
    } else {
      ctx.log.info({ commit }, 'crates: index unchanged');
    }
    await em.configJson();
    await em.finish();
    return { mode: why !== null ? 'full' : 'delta', cursor: { commit, shape } satisfies CratesCursor };
  },
};
