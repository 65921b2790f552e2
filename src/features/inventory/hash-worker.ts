// Worker thread for `mirror inventory`: hashes batches of files with every requested algorithm
// in one streaming pass per file (node:crypto for SHA-2/SHA-1/MD5, hash-wasm for BLAKE3/xxHash).
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { createBLAKE3, createXXHash64, createXXHash3, createXXHash128, type IHasher } from 'hash-wasm';
import type { HashAlgo, HashBatch, HashBatchResult, HashResult } from './inventory.js';

const NODE_ALGOS = new Set<HashAlgo>(['sha256', 'sha512', 'sha1', 'md5']);
const wasmHashers = new Map<HashAlgo, IHasher>();
const chunkBuffer = Buffer.allocUnsafe(4 << 20);

async function wasmHasher(algo: HashAlgo): Promise<IHasher> {
  let h = wasmHashers.get(algo);
  if (!h) {
    if (algo === 'blake3') h = await createBLAKE3();
    else if (algo === 'xxh64') h = await createXXHash64();
    else if (algo === 'xxh3') h = await createXXHash3();
    else if (algo === 'xxh128') h = await createXXHash128();
    else throw new Error(`unknown algorithm ${algo}`);
    wasmHashers.set(algo, h);
  }
  return h;
}

async function hashFile(file: string, algos: HashAlgo[]): Promise<HashResult> {
  const updaters: { algo: HashAlgo; update(b: Buffer): void; digest(): string }[] = [];
  for (const algo of algos) {
    if (NODE_ALGOS.has(algo)) {
      const h = createHash(algo);
      updaters.push({ algo, update: (b) => h.update(b), digest: () => h.digest('hex') });
    } else {
      const h = await wasmHasher(algo);
      h.init();
      updaters.push({ algo, update: (b) => h.update(b), digest: () => h.digest('hex') });
    }
  }
  let size = 0;
  const fh = await open(file, 'r');
  try {
    // One buffer per worker, refilled in place: no per-chunk allocation, no stream machinery.
    for (;;) {
      const { bytesRead } = await fh.read(chunkBuffer, 0, chunkBuffer.length, null);
      if (bytesRead === 0) break;
      const chunk = chunkBuffer.subarray(0, bytesRead);
      size += bytesRead;
      for (const u of updaters) u.update(chunk);
    }
  } finally {
    await fh.close();
  }
  const hashes: Record<string, string> = {};
  for (const u of updaters) hashes[u.algo] = u.digest();
  return { size, hashes };
}

parentPort!.on('message', async (batch: HashBatch) => {
  const results: HashBatchResult['results'] = [];
  for (const file of batch.files) {
    try {
      results.push(await hashFile(file, batch.algos));
    } catch (err) {
      results.push({ error: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    }
  }
  parentPort!.postMessage({ id: batch.id, results } satisfies HashBatchResult);
});
