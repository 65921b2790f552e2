// Compression codecs for apt index files, streaming.
//
// Contract: `readText(file)` yields the decompressed text of a plain, .gz (node:zlib) or .xz
// (the `xz` CLI) file in chunks; a corrupt stream or a failing `xz` rejects the iteration.
// `compressFile(src, dest, codec)` writes a .gz or .xz copy. `codecOf(path)` names the codec
// from the extension, or null for one this module cannot read (.bz2, .lz4...).
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Readable } from 'node:stream';

export type Codec = 'plain' | 'gz' | 'xz';

export function codecOf(path: string): Codec | null {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base.endsWith('.gz')) return 'gz';
  if (base.endsWith('.xz')) return 'xz';
  if (!base.includes('.')) return 'plain';
  return null;
}

function runXz(args: string[], input: Readable): { stdout: Readable; done: Promise<void> } {
  const child = spawn('xz', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`cannot run xz: ${err.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`xz failed: ${stderr.trim() || `exit ${code}`}`))));
  });
  input.on('error', (err) => child.stdin.destroy(err));
  child.stdin.on('error', () => {}); // xz exiting early surfaces through `done`
  input.pipe(child.stdin);
  return { stdout: child.stdout, done };
}

/** The decompressed text of an index file, in UTF-8 chunks (multi-byte characters kept whole). */
export async function* readText(file: string): AsyncGenerator<string> {
  const codec = codecOf(file) ?? 'plain';
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  let stream: Readable = raw;
  let done: Promise<void> = Promise.resolve();
  if (codec === 'gz') {
    stream = raw.pipe(createGunzip());
    raw.on('error', (err) => stream.destroy(err));
  } else if (codec === 'xz') {
    ({ stdout: stream, done } = runXz(['-dc'], raw));
  }
  let failure: Error | null = null;
  done.catch((err: Error) => (failure = err));
  stream.setEncoding('utf8');
  for await (const chunk of stream) yield chunk as string;
  await done;
  if (failure) throw failure;
}

export async function compressFile(src: string, dest: string, codec: 'gz' | 'xz'): Promise<void> {
  if (codec === 'gz') {
    await pipeline(createReadStream(src), createGzip({ level: 9 }), createWriteStream(dest));
    return;
  }
  const { stdout, done } = runXz(['-c', '-6'], createReadStream(src));
  await Promise.all([pipeline(stdout, createWriteStream(dest)), done]);
}
