// The git CLI as the crates index reader: clone/fetch into a bare repository, list a tree,
// diff two trees, and stream many blobs through one `git cat-file --batch` process.
//
// Measured against isomorphic-git on a 200k-file index (test/bench/crates.bench.ts): the CLI
// reads blobs two orders of magnitude faster and also speaks git's dumb HTTP protocol, so every
// git operation here goes through it. Upstream may be a local path or a URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export class GitError extends Error {}

const GIT_ENV = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: 'echo',
  LC_ALL: 'C',
};

/** Runs git and returns its stdout (as a Buffer); rejects with git's stderr on failure. */
export function git(args: string[], opts: { gitDir?: string; signal?: AbortSignal } = {}): Promise<Buffer> {
  const fullArgs = opts.gitDir ? ['--git-dir', opts.gitDir, ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn('git', fullArgs, { env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new GitError(`git ${args[0]}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new GitError(`git ${args[0]} failed: ${err.trim().split('\n').pop() ?? `exit ${code}`}`));
    });
  });
}

/**
 * Makes `gitDir` a bare clone of `upstream` and brings its HEAD branch up to upstream's HEAD
 * (forced: upstream may squash its history). Returns the commit id now at HEAD.
 */
export async function syncRepo(upstream: string, gitDir: string, signal?: AbortSignal): Promise<string> {
  if (!existsSync(join(gitDir, 'HEAD'))) {
    await cloneBare(upstream, gitDir, signal);
  } else {
    await fetchHead(upstream, gitDir, signal);
  }
  // Keeps the clone servable as a git registry over git's dumb HTTP protocol.
  await git(['update-server-info'], { gitDir });
  return headCommit(gitDir);
}

/**
 * A throwaway repository at `dir` holding upstream's HEAD, for a dry run that must not write
 * into the mirror: it borrows the objects of the mirror's clone `base` (if any) through git's
 * alternates, so only new objects are fetched, and into `dir`.
 */
export async function scratchRepo(upstream: string, dir: string, base: string | null, signal?: AbortSignal): Promise<string> {
  if (base === null) {
    await cloneBare(upstream, dir, signal);
  } else {
    await git(['init', '--quiet', '--bare', dir]);
    await writeFile(join(dir, 'objects', 'info', 'alternates'), `${join(base, 'objects')}\n`);
    await fetchHead(upstream, dir, signal);
  }
  return headCommit(dir);
}

async function cloneBare(upstream: string, gitDir: string, signal?: AbortSignal): Promise<void> {
  await rm(gitDir, { recursive: true, force: true });
  await mkdir(dirname(gitDir), { recursive: true });
  const tmp = `${gitDir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await git(['clone', '--bare', '--no-tags', '--quiet', upstream, tmp], { signal });
  await rename(tmp, gitDir);
}

async function fetchHead(upstream: string, gitDir: string, signal?: AbortSignal): Promise<void> {
  const branch = (await git(['symbolic-ref', 'HEAD'], { gitDir })).toString().trim();
  await git(['fetch', '--quiet', '--no-tags', '--force', upstream, `+HEAD:${branch}`], { gitDir, signal });
}

async function headCommit(gitDir: string): Promise<string> {
  return (await git(['rev-parse', '--verify', 'HEAD^{commit}'], { gitDir })).toString().trim();
}

/** True when `commit` exists in the repository as a commit object. */
export async function hasCommit(gitDir: string, commit: string): Promise<boolean> {
  if (!/^[0-9a-f]{40,64}$/.test(commit)) return false;
  try {
    await git(['cat-file', '-e', `${commit}^{commit}`], { gitDir });
    return true;
  } catch {
    return false;
  }
}

/** Points `ref` at `commit`, so that gc keeps it (and its tree) after upstream rewrites history. */
export async function pinCommit(gitDir: string, ref: string, commit: string): Promise<void> {
  await git(['update-ref', ref, commit], { gitDir });
}

export interface TreeFile {
  path: string;
  oid: string;
}

/** Streams every blob of a commit's tree (recursive), in git's path order. */
export async function* treeBlobs(gitDir: string, commit: string, signal?: AbortSignal): AsyncGenerator<TreeFile> {
  const child = spawn('git', ['--git-dir', gitDir, 'ls-tree', '-r', '-z', '--full-tree', commit], {
    env: GIT_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  const exited = exitOf(child);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let completed = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      pending += decoder.write(chunk);
      let start = 0;
      for (let end = pending.indexOf('\0'); end >= 0; end = pending.indexOf('\0', start)) {
        // "<mode> SP <type> SP <oid> TAB <path>"
        const tab = pending.indexOf('\t', start);
        const [, type, oid] = pending.slice(start, tab).split(' ');
        if (type === 'blob') yield { path: pending.slice(tab + 1, end), oid };
        start = end + 1;
      }
      pending = pending.slice(start);
    }
    completed = true;
  } finally {
    if (!completed) child.kill();
  }
  const { code, stderr } = await exited;
  if (code !== 0) throw new GitError(`git ls-tree failed: ${stderr.trim() || `exit ${code}`}`);
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

export interface TreeChange {
  /** A: added, D: deleted, M: modified (also a type change). */
  status: 'A' | 'D' | 'M';
  path: string;
  oldOid: string | null;
  newOid: string | null;
}

const ZERO_OID = /^0+$/;

/** Blob-level differences between two commits' trees (no rename detection). */
export async function diffTrees(gitDir: string, from: string, to: string): Promise<TreeChange[]> {
  const out = (await git(['diff-tree', '-r', '-z', '--raw', '--no-renames', '--no-commit-id', from, to], { gitDir })).toString('utf8');
  const changes: TreeChange[] = [];
  const parts = out.split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    // ":<oldmode> <newmode> <oldoid> <newoid> <status>" then the path
    const [, , oldOid, newOid, status] = parts[i].slice(1).split(' ');
    const path = parts[i + 1];
    const s = status[0] === 'A' ? 'A' : status[0] === 'D' ? 'D' : 'M';
    changes.push({
      status: s,
      path,
      oldOid: ZERO_OID.test(oldOid) ? null : oldOid,
      newOid: ZERO_OID.test(newOid) ? null : newOid,
    });
  }
  return changes;
}

/** Reads one blob by `<rev>:<path>` or oid; null when it does not exist. */
export async function readBlob(gitDir: string, spec: string): Promise<Buffer | null> {
  try {
    return await git(['cat-file', 'blob', spec], { gitDir });
  } catch {
    return null;
  }
}

/**
 * Reads many objects through one `git cat-file --batch`. `requests` yields "<oid> <tag>" lines
 * (tag: any text without a newline); `onBlob(tag, content)` is called for each, in order.
 * Requests are written while replies are parsed (stdin backpressure on one side, the awaited
 * callback on the other), so memory stays bounded by the largest object.
 */
export async function catFile(
  gitDir: string,
  requests: Iterable<string> | AsyncIterable<string>,
  onBlob: (tag: string, content: Buffer) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<number> {
  const child = spawn('git', ['--git-dir', gitDir, 'cat-file', '--batch=%(objectname) %(objecttype) %(objectsize) %(rest)'], {
    env: GIT_ENV,
    stdio: ['pipe', 'pipe', 'pipe'],
    signal,
  });
  const exited = exitOf(child);
  child.stdin.on('error', () => {}); // reported through the exit status instead

  let requested = 0;
  let writeError: unknown = null;
  const writer = (async () => {
    let batch = '';
    const flush = async () => {
      if (!child.stdin.write(batch)) await new Promise<void>((r) => child.stdin.once('drain', r));
      batch = '';
    };
    for await (const line of requests) {
      batch += line + '\n';
      requested++;
      if (batch.length >= 65536) await flush();
    }
    if (batch) await flush();
    child.stdin.end();
  })().catch((err: unknown) => {
    writeError = err;
    child.kill();
  });

  let replies = 0;
  let pending: Buffer = Buffer.alloc(0);
  let completed = false;
  try {
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      for (;;) {
        const nl = pending.indexOf(10);
        if (nl < 0) break;
        // "<oid> <type> <size> <tag>", or "<oid> missing"
        const header = pending.toString('utf8', 0, nl);
        const [oid, type, sizeText] = header.split(' ', 3);
        if (type === 'missing') throw new GitError(`git object missing: ${oid}`);
        const size = Number(sizeText);
        if (!Number.isSafeInteger(size)) throw new GitError(`unexpected git cat-file output: ${header.slice(0, 80)}`);
        if (pending.length < nl + 1 + size + 1) break;
        const tag = header.slice(oid.length + type.length + sizeText.length + 3);
        const content = pending.subarray(nl + 1, nl + 1 + size);
        pending = pending.subarray(nl + 1 + size + 1);
        replies++;
        await onBlob(tag, content);
      }
    }
    completed = true;
  } finally {
    if (!completed) child.kill();
  }
  await writer;
  if (writeError) throw writeError;
  const { code, stderr } = await exited;
  if (code !== 0) throw new GitError(`git cat-file failed: ${stderr.trim() || `exit ${code}`}`);
  if (replies !== requested) throw new GitError(`git cat-file returned ${replies} of ${requested} objects`);
  return replies;
}
