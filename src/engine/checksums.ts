// Canonical form of a checksum set, so that the DB can compare two sets as strings:
// known algorithms only, lowercase hex of the right length, keys in a fixed order.
import type { Checksums, ChecksumAlgo } from '../sources/types.js';

const HEX_LENGTH: Record<ChecksumAlgo, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };
const ORDER: ChecksumAlgo[] = ['md5', 'sha1', 'sha256', 'sha512'];

const HEX = /^[0-9a-f]+$/;

/** Returns the canonical JSON text, or throws with a reason for a malformed value. */
export function canonicalChecksums(checksums: Checksums | undefined): string {
  let text = '{';
  for (const algo of ORDER) {
    const value = checksums?.[algo];
    if (value === undefined) continue;
    const hex = String(value).toLowerCase();
    if (hex.length !== HEX_LENGTH[algo] || !HEX.test(hex)) throw new Error(`malformed ${algo} checksum '${String(value).slice(0, 140)}'`);
    text += `${text.length > 1 ? ',' : ''}"${algo}":"${hex}"`;
  }
  for (const algo in checksums) {
    if (!(algo in HEX_LENGTH)) throw new Error(`unknown checksum algorithm '${algo}'`);
  }
  return text + '}';
}

export function parseChecksums(text: string | null): Checksums {
  return text ? (JSON.parse(text) as Checksums) : {};
}
