// `mirror inventory`: per-file sizes and hashes of a mirror directory, plus a summary, written
// as JSON lines or YAML in path order. Hashing runs in a pool of worker threads (one per core
// by default) fed with small batches, so big and small files balance across cores; results are
// written in order as soon as a contiguous prefix is ready. Unreadable files become error records
// (and a non-zero exit); the private `.mirror/` directory is never listed.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { walkMirror } from '../walk.js';
import type { Logger } from 'pino';
import { startProgress } from '../../engine/progress.js';
import { UsageError } from '../../errors.js';

export const HASH_ALGOS = ['sha256', 'sha512', 'sha1', 'md5', 'blake3', 'xxh64', 'xxh3', 'xxh128'] as const;
export type HashAlgo = (typeof HASH_ALGOS)[number];
export type InventoryFormat = 'jsonl' | 'yaml';

export interface HashBatch {
  id: number;
  files: string[];
  algos: HashAlgo[];
}
export type HashResult = { size: number; hashes: Record<string, string> };
export interface HashBatchResult {
  id: number;
  results: (HashResult | { error: string })[];
}

export interface InventoryOptions {
  algos: HashAlgo[];
  format: InventoryFormat;
  jobs?: number;
  progress: boolean;
  log: Logger;
  /** Receives the output text in order, chunk by chunk. */
  write(chunk: string): void | Promise<void>;
}

export interface InventorySummary {
  files: number;
  bytes: number;
  errors: number;
  skipped: number;
}

const BATCH_FILES = 32;
const BATCH_BYTES = 16 << 20;

export function parseAlgos(value: string): HashAlgo[] {
  const algos = value.split(',').map((a) => a.trim().toLowerCase()).filter(Boolean);
  for (const a of algos) {
    if (!(HASH_ALGOS as readonly string[]).includes(a)) throw new UsageError(`--algo: unknown algorithm '${a}' (known: ${HASH_ALGOS.join(', ')})`);
  }
  if (algos.length === 0) throw new UsageError('--algo needs at least one algorithm');
  return [...new Set(algos)] as HashAlgo[];
}

export async function writeInventory(root: string, opts: InventoryOptions): Promise<InventorySummary> {
  const listing = await walkMirror(root);
  const files = listing.files;
  const generatedAt = new Date().toISOString();
  const summary: InventorySummary = { files: 0, bytes: 0, errors: 0, skipped: listing.skipped.length };
  let hashedFiles = 0;
  let hashedBytes = 0;
  const progress = startProgress(
    'inventory',
    () => ({ done: hashedFiles, total: files.length, bytes: hashedBytes, totalBytes: listing.bytes, failed: summary.errors }),
    { enabled: opts.progress, log: opts.log },
  );
  const format = opts.format === 'yaml' ? yamlFormat : jsonlFormat;
  await opts.write(format.header({ root, generatedAt, algos: opts.algos }));

  // Batches of consecutive files, so output order follows batch order.
  const batches: { start: number; end: number }[] = [];
  for (let i = 0; i < files.length; ) {
    let end = i;
    let bytes = 0;
    while (end < files.length && end - i < BATCH_FILES && (end === i || bytes + files[end].size <= BATCH_BYTES)) bytes += files[end++].size;
    batches.push({ start: i, end });
    i = end;
  }

  const done = new Map<number, HashBatchResult>();
  let nextToWrite = 0;
  let writing = Promise.resolve();
  const flush = async () => {
    while (done.has(nextToWrite)) {
      const { results } = done.get(nextToWrite)!;
      done.delete(nextToWrite);
      const { start } = batches[nextToWrite++];
      let text = '';
      results.forEach((r, k) => {
        const path = files[start + k].path;
        if ('error' in r) {
          summary.errors++;
          text += format.error(path, r.error);
        } else {
          summary.files++;
          summary.bytes += r.size;
          text += format.file(path, r.size, opts.algos.map((a) => [a, r.hashes[a]]));
        }
      });
      await opts.write(text);
    }
  };

  const workerCount = Math.max(1, Math.min(opts.jobs ?? availableParallelism(), batches.length));
  let nextBatch = 0;
  const workers: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: batches.length === 0 ? 0 : workerCount }, () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
          workers.push(worker);
          const feed = () => {
            if (nextBatch >= batches.length) return resolve();
            const id = nextBatch++;
            const { start, end } = batches[id];
            worker.postMessage({ id, algos: opts.algos, files: files.slice(start, end).map((f) => join(root, f.path)) } satisfies HashBatch);
          };
          worker.on('message', (msg: HashBatchResult) => {
            done.set(msg.id, msg);
            const { start, end } = batches[msg.id];
            hashedFiles += end - start;
            for (let k = start; k < end; k++) hashedBytes += files[k].size;
            writing = writing.then(flush);
            feed();
          });
          worker.on('error', reject);
          feed();
        }),
      ),
    );
    await (writing = writing.then(flush));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    progress.stop();
  }
  await opts.write(format.summary({ ...summary, algos: opts.algos, root, generatedAt, skippedPaths: listing.skipped }));
  return summary;
}

interface Header {
  root: string;
  generatedAt: string;
  algos: HashAlgo[];
}
interface Format {
  header(h: Header): string;
  file(path: string, size: number, hashes: [string, string][]): string;
  error(path: string, error: string): string;
  summary(s: InventorySummary & Header & { skippedPaths: string[] }): string;
}

const jsonlFormat: Format = {
  header: () => '',
  file: (path, size, hashes) => JSON.stringify({ type: 'file', path, size, ...Object.fromEntries(hashes) }) + '\n',
  error: (path, error) => JSON.stringify({ type: 'error', path, error }) + '\n',
  summary: (s) =>
    JSON.stringify({
      type: 'summary',
      root: s.root,
      generated_at: s.generatedAt,
      algorithms: s.algos,
      files: s.files,
      bytes: s.bytes,
      errors: s.errors,
      skipped: s.skippedPaths,
    }) + '\n',
};

// YAML written by hand: every string is a JSON string, which YAML reads as a double-quoted scalar.
const q = (s: string) => JSON.stringify(s);
const yamlFormat: Format = {
  header: (h) => `# mirror inventory\nroot: ${q(h.root)}\ngenerated_at: ${q(h.generatedAt)}\nalgorithms: [${h.algos.join(', ')}]\nfiles:\n`,
  file: (path, size, hashes) => `  - path: ${q(path)}\n    size: ${size}\n` + hashes.map(([a, h]) => `    ${a}: ${q(h)}\n`).join(''),
  error: (path, error) => `  - path: ${q(path)}\n    error: ${q(error)}\n`,
  summary: (s) =>
    `summary:\n  files: ${s.files}\n  bytes: ${s.bytes}\n  errors: ${s.errors}\n  skipped: [${s.skippedPaths.map(q).join(', ')}]\n`,
};
