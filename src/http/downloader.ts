// The managed downloader: GET a URL into a file, verifying size and every expected checksum
// while streaming, with bounded concurrency and retries with backoff on transient failures.
// It writes only `tmpFile`; placing the file is the caller's job. Errors are DownloadError
// with a code the engine can report ('not-found' is never retried).
import { Agent, request, interceptors, type Dispatcher } from 'undici';
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { setMaxListeners } from 'node:events';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import type { Checksums, ChecksumAlgo } from '../sources/types.js';

export interface DownloadRequest {
  url: string;
  tmpFile: string;
  size?: number;
  checksums?: Checksums;
  etag?: string;
  lastModified?: string;
  signal?: AbortSignal;
}

export interface DownloadResult {
  status: 200 | 304;
  size: number;
  checksums: Checksums;
  etag?: string;
  lastModified?: string;
  attempts: number;
}

/** 'local': the local filesystem failed (disk full, read-only, permissions): never retried. */
export type DownloadErrorCode = 'not-found' | 'checksum' | 'size' | 'http' | 'network' | 'aborted' | 'redirect' | 'local';

const LOCAL_FS_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE', 'EIO']);

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
    readonly attempts: number,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface RequestEvent {
  origin: string;
  url: string;
  status?: number;
  durationMs: number;
  bytes: number;
  outcome: 'ok' | 'retry' | 'error';
}

export interface DownloaderOptions {
  concurrency: number | 'auto';
  userAgent: string;
  rateLimitBytesPerSec?: number;
  log: Logger;
  signal?: AbortSignal;
  onRequest?: (event: RequestEvent) => void;
}

export interface DownloaderStats {
  inFlight: number;
  concurrency: number;
  retries: number;
  bytes: number;
  files: number;
}

const MAX_ATTEMPTS = 5;
const RETRY_BASE_MS = Number(process.env.MIRROR_RETRY_BASE_MS ?? 500);
const RETRY_CAP_MS = 30_000;
const AUTO_CONCURRENCY = 32;

export class Downloader {
  private readonly dispatcher: Dispatcher;
  private readonly limit: LimitFunction;
  private readonly concurrency: number;
  private retries = 0;
  private bytes = 0;
  private files = 0;

  constructor(private readonly opts: DownloaderOptions) {
    if (opts.signal) setMaxListeners(0, opts.signal); // every in-flight request listens to it
    this.concurrency = opts.concurrency === 'auto' ? AUTO_CONCURRENCY : opts.concurrency;
    this.limit = pLimit(this.concurrency);
    this.dispatcher = new Agent({
      connections: this.concurrency,
      keepAliveTimeout: 30_000,
      connectTimeout: 30_000,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    }).compose(interceptors.redirect({ maxRedirections: 5 }));
  }

  download(req: DownloadRequest): Promise<DownloadResult> {
    return this.limit(() => this.downloadWithRetries(req));
  }

  stats(): DownloaderStats {
    return {
      inFlight: this.limit.activeCount,
      concurrency: this.concurrency,
      retries: this.retries,
      bytes: this.bytes,
      files: this.files,
    };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async downloadWithRetries(req: DownloadRequest): Promise<DownloadResult> {
    for (let attempt = 1; ; attempt++) {
      const signal = req.signal ?? this.opts.signal;
      if (signal?.aborted) throw new DownloadError('aborted', 'interrupted', attempt - 1);
      try {
        const result = await this.attempt(req, attempt, signal);
        this.files++;
        return result;
      } catch (err) {
        const error = toDownloadError(err, attempt, signal);
        if (!isRetryable(error) || attempt >= MAX_ATTEMPTS) throw error;
        this.retries++;
        const delay = Math.random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
        this.opts.log.debug({ url: req.url, attempt, delay: Math.round(delay), err: error.message }, 'retrying');
        await sleep(delay, signal);
      }
    }
  }

  private async attempt(req: DownloadRequest, attempt: number, signal?: AbortSignal): Promise<DownloadResult> {
    const started = performance.now();
    const headers: Record<string, string> = { 'user-agent': this.opts.userAgent, 'accept-encoding': 'identity' };
    if (req.etag) headers['if-none-match'] = req.etag;
    if (req.lastModified) headers['if-modified-since'] = req.lastModified;
    const origin = new URL(req.url).origin;
    let status: number | undefined;
    let bytes = 0;
    try {
      const res = await request(req.url, { method: 'GET', headers, signal, dispatcher: this.dispatcher });
      status = res.statusCode;
      const etag = headerValue(res.headers.etag);
      const lastModified = headerValue(res.headers['last-modified']);
      if (status === 304) {
        await res.body.dump();
        this.opts.onRequest?.({ origin, url: req.url, status, durationMs: performance.now() - started, bytes: 0, outcome: 'ok' });
        return { status: 304, size: 0, checksums: {}, etag, lastModified, attempts: attempt };
      }
      if (status !== 200) {
        await res.body.dump();
        const code = status === 404 || status === 410 ? 'not-found' : 'http';
        throw new DownloadError(code, `HTTP ${status} for ${req.url}`, attempt, status);
      }
      const contentLength = headerValue(res.headers['content-length']);
      if (req.size !== undefined && contentLength !== undefined && Number(contentLength) !== req.size) {
        await res.body.dump();
        throw new DownloadError('size', `size mismatch for ${req.url}: upstream announces ${contentLength} bytes, index says ${req.size}`, attempt, status);
      }
      const hashes = new Map<ChecksumAlgo, Hash>([['sha256', createHash('sha256')]]);
      for (const algo of Object.keys(req.checksums ?? {}) as ChecksumAlgo[]) {
        if (!hashes.has(algo)) hashes.set(algo, createHash(algo));
      }
      const limitSize = req.size;
      const meter = new Transform({
        transform: (chunk: Buffer, _enc, callback) => {
          bytes += chunk.length;
          if (limitSize !== undefined && bytes > limitSize) {
            callback(new DownloadError('size', `${req.url} is larger than the ${limitSize} bytes the index promises`, attempt, status));
            return;
          }
          for (const hash of hashes.values()) hash.update(chunk);
          callback(null, chunk);
        },
      });
      await pipeline(res.body, meter, createWriteStream(req.tmpFile));
      this.bytes += bytes;
      if (req.size !== undefined && bytes !== req.size) {
        throw new DownloadError('size', `${req.url} is truncated: got ${bytes} of ${req.size} bytes`, attempt, status);
      }
      const checksums: Checksums = {};
      for (const [algo, hash] of hashes) checksums[algo] = hash.digest('hex');
      for (const [algo, expected] of Object.entries(req.checksums ?? {}) as [ChecksumAlgo, string][]) {
        if (checksums[algo] !== expected.toLowerCase()) {
          throw new DownloadError('checksum', `${algo} mismatch for ${req.url}: expected ${expected}, got ${checksums[algo]}`, attempt, status);
        }
      }
      this.opts.onRequest?.({ origin, url: req.url, status, durationMs: performance.now() - started, bytes, outcome: 'ok' });
      return { status: 200, size: bytes, checksums, etag, lastModified, attempts: attempt };
    } catch (err) {
      const error = toDownloadError(err, attempt, signal);
      this.opts.onRequest?.({
        origin,
        url: req.url,
        status,
        durationMs: performance.now() - started,
        bytes,
        outcome: isRetryable(error) && attempt < MAX_ATTEMPTS ? 'retry' : 'error',
      });
      throw error;
    }
  }
}

function isRetryable(error: DownloadError): boolean {
  if (error.code === 'network') return true;
  if (error.code === 'size' || error.code === 'checksum') return true;
  if (error.code !== 'http' || error.status === undefined) return false;
  return error.status === 408 || error.status === 425 || error.status === 429 || error.status >= 500;
}

function toDownloadError(err: unknown, attempt: number, signal?: AbortSignal): DownloadError {
  if (err instanceof DownloadError) return err;
  if (signal?.aborted) return new DownloadError('aborted', 'interrupted', attempt);
  const e = err as Error & { code?: string };
  if (e.code && LOCAL_FS_ERRORS.has(e.code)) return new DownloadError('local', `${e.code}: ${e.message}`, attempt);
  if (e.code === 'UND_ERR_REQ_RETRY' || /redirect/i.test(e.message ?? '')) {
    return new DownloadError('redirect', e.message, attempt);
  }
  return new DownloadError('network', `${e.code ? e.code + ': ' : ''}${e.message}`, attempt);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
