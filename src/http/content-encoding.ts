// Content-Encoding handling. The downloader asks for `identity`, but servers still send gzip
// (dynamic compression) or label a .gz file "Content-Encoding: gzip". The bytes to store are the
// bytes the index's checksum describes, which may be either the raw body or its decoding.
// So while the raw body streams to disk, DecodedTrack decodes it on the side and digests the
// decoded bytes; afterwards chooseRepresentation picks the one that matches, and
// decodeFileInPlace rewrites the file in the (rare) case the decoded form wins.

import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib';
import type { Checksums } from '../model/checksums.js';
import { StreamDigest, checksumMismatch } from './integrity.js';

type Decoder = Gunzip | ReturnType<typeof createBrotliDecompress> | ReturnType<typeof createInflate>;

/** Codings in the order they must be undone; null when one is unknown (only raw is possible). */
export function parseContentEncoding(header: string | string[] | undefined): string[] | null {
  if (header === undefined || header === 'identity') return [];
  const raw = Array.isArray(header) ? header.join(',') : header ?? '';
  const codings = raw
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.some((c) => !['gzip', 'x-gzip', 'deflate', 'br'].includes(c))) return null;
  return codings.reverse();
}

function makeDecoders(codings: string[]): Decoder[] {
  return codings.map((c) => (c === 'br' ? createBrotliDecompress() : c === 'deflate' ? createInflate() : createGunzip()));
}

/** Decodes a raw body on the side, digesting the decoded bytes, bounded by maxBytes. */
export class DecodedTrack {
  readonly digest: StreamDigest;
  private readonly decoders: Decoder[];
  private failed: Error | null = null;
  private readonly done: Promise<void>;
  private settle!: () => void;

  constructor(codings: string[], expected: Checksums | undefined, private readonly maxBytes: number) {
    this.digest = StreamDigest.for(expected);
    this.decoders = makeDecoders(codings);
    for (let i = 0; i < this.decoders.length - 1; i++) this.decoders[i].pipe(this.decoders[i + 1]);
    const last = this.decoders[this.decoders.length - 1];
    last.on('data', (chunk: Buffer) => {
      if (this.failed) return;
      this.digest.update(chunk);
      if (this.digest.bytes > this.maxBytes) this.fail(new Error('decoded body exceeds the expected size'));
    });
    this.done = new Promise<void>((resolve) => (this.settle = resolve));
    last.on('end', () => this.settle());
    for (const d of this.decoders) d.on('error', (e) => this.fail(e));
  }

  get ok(): boolean {
    return this.failed === null;
  }

  write(chunk: Uint8Array): void {
    if (!this.failed) this.decoders[0].write(chunk);
  }

  async end(): Promise<boolean> {
    if (!this.failed) {
      this.decoders[0].end();
      await this.done;
    }
    return this.failed === null;
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    for (const d of this.decoders) d.destroy();
    // A destroyed stream never emits 'end': whoever waits in end() learns of the failure here.
    this.settle();
  }
}

export interface Candidate {
  bytes: number;
  checksums: Checksums;
}

/**
 * Which form to keep: the one matching the expected checksums, else the expected size; with no
 * expectation, the decoded form unless the raw body is itself a compressed file of that coding
 * (the classic "foo.tar.gz served with Content-Encoding: gzip" misconfiguration).
 */
export function chooseRepresentation(
  raw: Candidate,
  decoded: Candidate | null,
  expected: { checksums?: Checksums; size?: number },
  urlPath: string,
): 'raw' | 'decoded' {
  const hasSums = Object.values(expected.checksums ?? {}).some((v) => v !== undefined);
  const fits = (c: Candidate) =>
    (expected.size === undefined || c.bytes === expected.size) && (!hasSums || checksumMismatch(expected.checksums, c.checksums) === null);
  if (!decoded) return 'raw';
  if (hasSums || expected.size !== undefined) {
    if (fits(raw)) return 'raw';
    if (fits(decoded)) return 'decoded';
    return 'raw';
  }
  return /\.(gz|tgz|br|z)$/i.test(urlPath) ? 'raw' : 'decoded';
}

/** Replaces `file` by its decoding (through a sibling temp file and a rename). */
export async function decodeFileInPlace(file: string, codings: string[]): Promise<void> {
  const out = `${file}.decoded`;
  try {
    await pipeline([createReadStream(file), ...makeDecoders(codings), createWriteStream(out)]);
    await fs.rename(out, file);
  } catch (e) {
    await fs.rm(out, { force: true });
    throw e;
  }
}
