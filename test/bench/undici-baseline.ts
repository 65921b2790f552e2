// Baseline downloader for benchmarks: a bare undici Agent fetching every URL of a list into a
// directory with N parallel requests; no checksums, no fsync, no state. `node undici-baseline.js LIST DEST N`
import { Agent, request } from 'undici';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const [listFile, dest, n] = process.argv.slice(2);
const urls = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
const agent = new Agent({ connections: Number(n) });
let next = 0;
async function worker(): Promise<void> {
  while (next < urls.length) {
    const url = new URL(urls[next++]);
    const file = join(dest, url.pathname);
    mkdirSync(dirname(file), { recursive: true });
    const res = await request(url, { dispatcher: agent });
    await pipeline(res.body, createWriteStream(file));
  }
}
await Promise.all(Array.from({ length: Number(n) }, worker));
await agent.close();
