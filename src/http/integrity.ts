// Streaming integrity: one pass computes the byte count and every checksum (sha256 always, plus
// whatever the index provides) with node:crypto, and compares them with what was expected.

import { createHash, type Hash } from 'node:crypto';
import type { ChecksumAlgo, Checksums } from '../model/checksums.js';

export const CHECKSUM_ALGOS: readonly ChecksumAlgo[] = ['sha256', 'sha512', 'sha1', 'md5'];

export class StreamDigest {
  private readonly hashes: [ChecksumAlgo, Hash][];
  bytes = 0;

  constructor(algos: Iterable<ChecksumAlgo>) {
    const set = new Set<ChecksumAlgo>(['sha256', ...algos]);
    this.hashes = [...set].map((a) => [a, createHash(a)]);
  }

  /** The algorithms to compute for a set of expected checksums (sha256 always). */
  static for(expected: Checksums | undefined): StreamDigest {
    return new StreamDigest(Object.keys(expected ?? {}).filter((a): a is ChecksumAlgo => CHECKSUM_ALGOS.includes(a as ChecksumAlgo)));
  }

  update(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    for (const [, h] of this.hashes) h.update(chunk);
  }

  digest(): Checksums {
    const out: Checksums = {};
    for (const [a, h] of this.hashes) out[a] = h.digest('hex');
    return out;
  }
}

export interface ChecksumMismatch {
  algo: string;
  expected: string;
  /** undefined when the algorithm was not computed. */
  actual?: string;
}

/** The first expected checksum the actual ones contradict, or null when all match. */
export function checksumMismatch(expected: Checksums | undefined, actual: Checksums): ChecksumMismatch | null {
  for (const [algo, want] of Object.entries(expected ?? {})) {
    if (want === undefined) continue;
    const wanted = want.trim().toLowerCase();
    const got = actual[algo as ChecksumAlgo];
    if (got === undefined || got.toLowerCase() !== wanted) return { algo, expected: wanted, actual: got };
  }
  return null;
}
