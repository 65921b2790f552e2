// Drives the Downloader class alone (no engine: no state DB, no fsync): reads a sums.jsonl of
// {url, sha256, size, path}, downloads every file verified into <dest>/<path>.part and renames
// it into place. The download benchmark runs it to separate the HTTP layer's speed from the
// engine's durability work. Usage: node downloader-only.js SUMS.jsonl DEST [concurrency|auto]
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Downloader } from '../../src/http/downloader.js';

const [sumsFile, dest, conc = 'auto'] = process.argv.slice(2);
const rows = readFileSync(sumsFile, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { url: string; sha256: string; size: number; path: string });
const dirs = new Set(rows.map((r) => dirname(join(dest, r.path))));
for (const d of dirs) mkdirSync(d, { recursive: true });
const downloader = new Downloader({ concurrency: conc === 'auto' ? 'auto' : Number(conc) });
let failed = 0;
let next = 0;
const worker = async () => {
  while (next < rows.length) {
    const r = rows[next++];
    const final = join(dest, r.path);
    try {
      await downloader.download({ url: r.url, tmpFile: `${final}.part`, size: r.size, checksums: { sha256: r.sha256 } });
      renameSync(`${final}.part`, final);
    } catch (err) {
      failed++;
      process.stderr.write(`${r.url}: ${(err as Error).message}\n`);
    }
  }
};
// Keep a window of queued downloads, as the engine does.
await Promise.all(Array.from({ length: 256 }, worker));
await downloader.close();
process.exit(failed ? 1 : 0);
