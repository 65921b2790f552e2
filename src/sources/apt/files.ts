// Small filesystem helpers for the apt adapter's staging area.
//
// Contract: `hashFile` streams a file once through every requested hash; `matchesLocal` says
// whether a published file already has a Release entry's size and SHA256 (so it is reused
// instead of downloaded); `linkOrCopy` places a second name for a staged file (hard link,
// falling back to a copy); `urlOf` joins an archive base URL and a relative path,
// percent-encoding each segment.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import type { ChecksumAlgo, Checksums } from '../types.js';

export async function hashFile(file: string, algos: ChecksumAlgo[]): Promise<{ size: number; checksums: Checksums }> {
  const hashes = algos.map((a) => [a, createHash(a)] as const);
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    size += (chunk as Buffer).length;
    for (const [, h] of hashes) h.update(chunk as Buffer);
  }
  const checksums: Checksums = {};
  for (const [a, h] of hashes) checksums[a] = h.digest('hex');
  return { size, checksums };
}

export async function matchesLocal(file: string, size: number, sha256: string): Promise<boolean> {
  try {
    const st = await fs.lstat(file);
    if (!st.isFile() || st.size !== size) return false;
  } catch {
    return false;
  }
  return (await hashFile(file, ['sha256'])).checksums.sha256 === sha256;
}

export async function linkOrCopy(from: string, to: string): Promise<void> {
  await fs.mkdir(dirname(to), { recursive: true });
  await fs.rm(to, { force: true });
  try {
    await fs.link(from, to);
  } catch {
    await fs.copyFile(from, to);
  }
}

export function urlOf(base: string, relPath: string): string {
  return base + relPath.split('/').map(encodeURIComponent).join('/');
}
