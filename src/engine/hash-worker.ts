// Worker thread of the hash pool: receives {id, path} messages, answers {id, sha256, size} or
// {id, error}. Hashing runs here so that `verify --hash` uses every core.
import { parentPort } from 'node:worker_threads';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';

parentPort!.on('message', (msg: { id: number; path: string }) => {
  const hash = createHash('sha256');
  let size = 0;
  createReadStream(msg.path, { highWaterMark: 1 << 20 })
    .on('data', (chunk) => {
      size += chunk.length;
      hash.update(chunk);
    })
    .on('error', (err) => parentPort!.postMessage({ id: msg.id, error: err.message }))
    .on('end', () => parentPort!.postMessage({ id: msg.id, sha256: hash.digest('hex'), size }));
});
