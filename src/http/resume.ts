// Resuming a partial tmp file. A download large enough to be worth resuming records its
// validator (strong ETag or Last-Modified) in a sidecar `<tmpFile>.meta`. A later attempt that
// finds the tmp file with bytes in it and a sidecar for the same URL continues with
// `Range: bytes=N-` + `If-Range: <validator>`, after hashing the existing prefix; the server
// answers 206 (append) or 200 (the file changed or ranges are unsupported: start over).
// The sidecar exists exactly while the partial file may be continued: it is removed once the
// partial is known to be useless (integrity failure, changed upstream) and on success. The
// engine keeps a failed download's partial for the next run when its sidecar is there.

import { constants, createReadStream, promises as fs } from 'node:fs';
import type { StreamDigest } from './integrity.js';

export interface Validator {
  url: string;
  etag?: string;
  lastModified?: string;
  /** Total size of the representation, when known. */
  size?: number;
}

export const SIDECAR_SUFFIX = '.meta';
export const sidecarPath = (tmpFile: string) => `${tmpFile}${SIDECAR_SUFFIX}`;

/** The If-Range value for a validator: a strong ETag, else Last-Modified; null if neither. */
export function ifRangeValue(v: Validator | null): string | null {
  if (!v) return null;
  if (v.etag && !v.etag.startsWith('W/')) return v.etag;
  return v.lastModified ?? null;
}

export async function readSidecar(tmpFile: string): Promise<Validator | null> {
  try {
    const v = JSON.parse(await fs.readFile(sidecarPath(tmpFile), 'utf8')) as Validator;
    return typeof v.url === 'string' ? v : null;
  } catch {
    return null;
  }
}

export async function writeSidecar(tmpFile: string, v: Validator): Promise<void> {
  await fs.writeFile(sidecarPath(tmpFile), JSON.stringify(v), { flag: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW });
}

export async function removeSidecar(tmpFile: string): Promise<void> {
  await fs.rm(sidecarPath(tmpFile), { force: true });
}

/** Size of an existing partial file (0 if absent). */
export async function partialSize(file: string): Promise<number> {
  try {
    const st = await fs.lstat(file);
    return st.isFile() ? st.size : 0;
  } catch {
    return 0;
  }
}

/** Feeds the first `length` bytes of `file` into the digest (the prefix a resume continues). */
export async function hashPrefix(file: string, length: number, digest: StreamDigest): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(file, { start: 0, end: length - 1, highWaterMark: 1 << 20 })) {
    digest.update(chunk as Buffer);
  }
  if (digest.bytes !== length) throw new Error(`partial file ${file} is shorter than ${length} bytes`);
}

/** Parses `Content-Range: bytes START-END/TOTAL` (TOTAL may be *). */
export function parseContentRange(header: string | string[] | undefined): { start: number; end: number; total?: number } | null {
  const raw = Array.isArray(header) ? header[0] : header;
  const m = raw ? raw.trim().match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}
