// A tiny fixture upstream for the demo: a deterministic corpus of files served from memory on
// 127.0.0.1, plus the URL list and checksums file the `list` source reads.
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface CorpusFile {
  path: string;
  content: Buffer;
}

/** `count` files of pseudo-random bytes (sizes from minSize to maxSize), same for the same seed. */
export function makeCorpus(count: number, seed = 1, minSize = 512, maxSize = 64 * 1024): CorpusFile[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const files: CorpusFile[] = [];
  for (let i = 0; i < count; i++) {
    const size = Math.floor(minSize + next() * (maxSize - minSize));
    const content = Buffer.allocUnsafe(size);
    for (let j = 0; j < size; j += 4) content.writeUInt32LE((next() * 0x100000000) >>> 0, Math.min(j, size - 4));
    files.push({ path: `pool/${String(i % 16).padStart(2, '0')}/file-${i}.bin`, content });
  }
  return files;
}

export interface FixtureUpstream {
  url: string;
  close(): Promise<void>;
}

/** Serves `files` on 127.0.0.1:`port` (falling back to any free port when it is taken). */
export async function serveCorpus(files: CorpusFile[], port = 0): Promise<FixtureUpstream> {
  const byPath = new Map(files.map((f) => [`/${f.path}`, f.content]));
  const server = createServer((req, res) => {
    const body = byPath.get((req.url ?? '').split('?')[0]);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' || port === 0) return reject(err);
      server.listen(0, '127.0.0.1', resolve);
    });
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes urls.txt and sums.jsonl for `files` served at `baseUrl` into `dir`. */
export function writeListFiles(dir: string, baseUrl: string, files: CorpusFile[]): { listFile: string; sumsFile: string } {
  const listFile = join(dir, 'urls.txt');
  const sumsFile = join(dir, 'sums.jsonl');
  const urls = files.map((f) => `${baseUrl}/${f.path}`);
  writeFileSync(listFile, `# demo upstream\n${urls.join('\n')}\n`);
  writeFileSync(
    sumsFile,
    files
      .map((f, i) => JSON.stringify({ url: urls[i], sha256: createHash('sha256').update(f.content).digest('hex'), size: f.content.length }))
      .join('\n') + '\n',
  );
  return { listFile, sumsFile };
}
