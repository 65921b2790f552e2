// The managed downloader: downloads one URL into a tmp file, verified, with retries.
// It composes the single-purpose helpers of this folder:
//   dispatcher.ts (keep-alive pools, HTTP/2, timeouts, proxies), adaptive-concurrency.ts +
//   semaphore.ts (per-origin limits, "auto pipelining"), retry-policy.ts + backoff.ts +
//   retry-after.ts (what to retry, when, and how much), redirect-policy.ts, integrity.ts +
//   content-encoding.ts (size and checksums in the same pass as the write), resume.ts (Range +
//   If-Range continuation), rate-limiter.ts (--rate-limit), rate-meter.ts (progress rates).
// Contract with the engine:
//   - download() limits concurrency itself: callers may queue as many calls as they like.
//   - On success the tmp file holds exactly the verified bytes; the caller fsyncs and renames.
//   - On failure it throws DownloadError; the tmp file may remain (partial) and is the caller's
//     to delete, unless the error says `resumable`: then a `<tmpFile>.meta` sidecar records how
//     to continue it, and a caller that keeps the partial for a later call keeps both. (The
//     sidecar goes on success and as soon as the bytes prove useless.)
//   - On abort (options.signal or request.signal) it stops at once with code 'aborted'.
//   - 404/410 are never retried ('not-found'); 304 answers a conditional request (status 304,
//     no file written).

import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Checksums } from '../model/checksums.js';
import { backoffFromEnv, fullJitterDelay, type BackoffPolicy } from './backoff.js';
import { chooseRepresentation, DecodedTrack, decodeFileInPlace, parseContentEncoding } from './content-encoding.js';
import { createDispatcher } from './dispatcher.js';
import { DownloadError, type DownloadErrorCode } from './errors.js';
import { BufferedFileWriter } from './file-writer.js';
import { checksumMismatch, StreamDigest } from './integrity.js';
import { RateLimiter } from './rate-limiter.js';
import { RateMeter } from './rate-meter.js';
import { decideRedirect, REDIRECT_STATUSES } from './redirect-policy.js';
import {
  hashPrefix,
  ifRangeValue,
  parseContentRange,
  partialSize,
  readSidecar,
  removeSidecar,
  writeSidecar,
  type Validator,
} from './resume.js';
import { parseRetryAfter } from './retry-after.js';
import {
  isCongestionError,
  isCongestionStatus,
  isMissingStatus,
  isNetworkError,
  isRetryableStatus,
  networkErrorLabel,
  RetryBudget,
} from './retry-policy.js';
import { OriginState } from './origin-state.js';
import { openResponse, type ResponseStream } from './response-stream.js';
import { Semaphore } from './semaphore.js';
import { sleep } from './sleep.js';
import { VERSION } from '../version.js';

export { DownloadError, type DownloadErrorCode } from './errors.js';

/** Default size from which a download can be resumed (it records a `<tmpFile>.meta` sidecar). */
export const RESUME_MIN_BYTES = 4 * 1024 * 1024;

export interface DownloaderOptions {
  /** A fixed limit per origin (--concurrency N), or 'auto' for the adaptive controller. */
  concurrency: number | 'auto';
  userAgent?: string;
  rateLimitBytesPerSec?: number;
  /** Offer HTTP/2 to TLS origins (default true); false keeps every origin on HTTP/1.1. */
  http2?: boolean;
  /** Hosts a redirect may lead to besides the requested one (default: any host). */
  redirectHosts?: readonly string[];
  log?: Logger;
  signal?: AbortSignal;
  /** Called after every HTTP exchange (each redirect hop, each retry). */
  onRequest?: (event: RequestEvent) => void;

  // Tuning (defaults suit real mirrors; tests shorten them).
  /** Attempts per file, first one included (default 5). */
  maxAttempts?: number;
  /** Backoff base/cap in ms (default 500 / 30000; env MIRROR_RETRY_BASE_MS / MIRROR_RETRY_CAP_MS). */
  retryBaseMs?: number;
  retryCapMs?: number;
  /** Longest Retry-After honoured (default 300000 ms); longer values are clamped. */
  maxRetryAfterMs?: number;
  /** Run-wide retry budget: `base` retries plus `perFile` per file started (default 100 + 0.5). */
  retryBudget?: { base: number; perFile: number };
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** Longest silence between two body chunks (default 60000 ms). */
  bodyTimeoutMs?: number;
  /** Adaptive mode: starting and maximum per-origin concurrency (default 16 / 256). */
  initialConcurrency?: number;
  maxConcurrency?: number;
  /** Concurrent streams per HTTP/2 connection (default 128). */
  h2Streams?: number;
  /** Downloads at least this large record a resume sidecar (default RESUME_MIN_BYTES). */
  resumeMinBytes?: number;
  /** Extra trusted CA (PEM), e.g. a test server's self-signed certificate. */
  ca?: string | Buffer;
  /** Environment for proxy variables (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Random source for backoff jitter, [0, 1) (default Math.random). */
  random?: () => number;
}

export interface DownloadRequest {
  url: string;
  tmpFile: string;
  size?: number;
  checksums?: Checksums;
  /** Validators from a previous download: makes the request conditional (304). */
  etag?: string;
  lastModified?: string;
  signal?: AbortSignal;
}

export interface DownloadResult {
  status: 200 | 304;
  /** Bytes stored (for 304: the expected size if given, else 0). */
  size: number;
  /** sha256 always, plus every algorithm the request expected (empty for 304). */
  checksums: Checksums;
  etag?: string;
  lastModified?: string;
  attempts: number;
  /** The URL finally served after redirects. */
  finalUrl?: string;
  /** mtime of the tmp file as written (200 only), so the caller needs no stat. */
  mtimeMs?: number;
}

export interface RequestEvent {
  origin: string;
  url: string;
  status?: number;
  durationMs: number;
  bytes: number;
  outcome: 'ok' | 'retry' | 'error';
  /** Attempt number of the file this request belonged to (1-based). */
  attempt?: number;
  /** For 'retry': the wait before the next attempt. */
  delayMs?: number;
  error?: string;
}

export interface DownloaderStats {
  inFlight: number;
  /** Sum of the current limits of the origins in use. */
  concurrency: number;
  retries: number;
  bytes: number;
  files: number;
  failed: number;
  queued: number;
  bytesPerSec: number;
  filesPerSec: number;
}

/** Why one attempt failed, and whether another may succeed. */
class AttemptFailure extends Error {
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly extra: {
      status?: number;
      retryAfterMs?: number;
      congestion?: string;
      /** The partial file cannot be continued (integrity failure, changed upstream...). */
      discardPartial?: boolean;
      /** The bytes contradict the index (wrong size or checksum): retried only once. */
      integrity?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: extra.cause });
  }
}

interface ResumeState {
  /** Bytes of the partial tmp file that may be continued (0: start over). */
  offset: number;
  validator: Validator | null;
  sidecarWritten: boolean;
}

export class Downloader {
  private readonly dispatcher: Dispatcher;
  private readonly origins = new Map<string, OriginState>();
  private readonly global: Semaphore;
  private readonly budget: RetryBudget;
  private readonly backoff: BackoffPolicy;
  private readonly limiter?: RateLimiter;
  private readonly userAgent: string;
  private readonly maxAttempts: number;
  private readonly maxRetryAfterMs: number;
  private readonly resumeMinBytes: number;
  private readonly random: () => number;
  private readonly pinned?: number;
  private readonly initial: number;
  private readonly maxPerOrigin: number;
  private readonly byteMeter = new RateMeter();
  private readonly fileMeter = new RateMeter();
  private lastOrigin: OriginState | null = null;
  private counters = { inFlight: 0, queued: 0, retries: 0, bytes: 0, files: 0, failed: 0 };

  constructor(private readonly opts: DownloaderOptions) {
    if (opts.signal) setMaxListeners(0, opts.signal); // shared by the run: adapters and jobs add their own listeners
    if (opts.concurrency !== 'auto' && !(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) {
      throw new RangeError(`concurrency must be a positive integer or 'auto', got ${String(opts.concurrency)}`);
    }
    this.pinned = opts.concurrency === 'auto' ? undefined : opts.concurrency;
    this.maxPerOrigin = this.pinned ?? opts.maxConcurrency ?? 256;
    this.initial = Math.min(opts.initialConcurrency ?? 16, this.maxPerOrigin);
    this.global = new Semaphore(this.pinned ?? this.maxPerOrigin);
    this.dispatcher = createDispatcher({
      connectTimeoutMs: opts.connectTimeoutMs ?? 15_000,
      headersTimeoutMs: opts.headersTimeoutMs ?? 60_000,
      bodyTimeoutMs: opts.bodyTimeoutMs ?? 60_000,
      h2Streams: opts.h2Streams ?? 128,
      http2: opts.http2 ?? true,
      ca: opts.ca,
      env: opts.env,
    });
    // A new connection to an origin ends its probe: HTTP/2 is known by now.
    this.dispatcher.on('connect', (origin: URL) => this.origins.get(origin.origin)?.settleProbe(true));
    this.backoff = backoffFromEnv({ baseMs: 500, capMs: 30_000 }, opts.env ?? process.env);
    if (opts.retryBaseMs !== undefined) this.backoff.baseMs = opts.retryBaseMs;
    if (opts.retryCapMs !== undefined) this.backoff.capMs = opts.retryCapMs;
    this.budget = new RetryBudget(opts.retryBudget ?? { base: 100, perFile: 0.5 });
    this.limiter = opts.rateLimitBytesPerSec ? new RateLimiter({ bytesPerSec: opts.rateLimitBytesPerSec }) : undefined;
    this.userAgent = opts.userAgent ?? `mirror/${VERSION}`;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 300_000;
    this.resumeMinBytes = opts.resumeMinBytes ?? RESUME_MIN_BYTES;
    this.random = opts.random ?? Math.random;
  }

  /** The current concurrency: the sum of the limits of the origins in use (cheap, no allocation). */
  concurrencyLimit(): number {
    let concurrency = 0;
    for (const o of this.origins.values()) {
      if (o.slots.inUse > 0 || o.slots.queued > 0) concurrency += o.controller.limit;
    }
    if (concurrency === 0) concurrency = this.lastOrigin?.controller.limit ?? this.pinned ?? this.initial;
    return Math.min(concurrency, this.global.limit);
  }

  stats(): DownloaderStats {
    return {
      ...this.counters,
      concurrency: this.concurrencyLimit(),
      bytesPerSec: this.byteMeter.perSecond(),
      filesPerSec: this.fileMeter.perSecond(),
    };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  async download(req: DownloadRequest): Promise<DownloadResult> {
    const signal = combineSignals(this.opts.signal, req.signal);
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new DownloadError('http', `invalid URL: ${req.url}`, 0, undefined, req.url);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new DownloadError('http', `unsupported URL scheme ${url.protocol} in ${req.url}`, 0, undefined, req.url);
    }
    const origin = this.originState(url.origin);
    this.budget.noteFileStarted();
    const state = await this.initialResumeState(req);
    let integrityFailures = 0;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let failure: AttemptFailure;
      try {
        await this.acquire(origin, signal);
      } catch {
        throw this.aborted(req, attempt - 1, state);
      }
      try {
        const result = await this.attempt(req, state, origin, attempt, signal);
        origin.controller.noteFileDone();
        this.counters.files++;
        this.fileMeter.add(1);
        return result;
      } catch (err) {
        failure = this.toFailure(err, signal);
      } finally {
        this.release(origin);
      }
      if (failure.code === 'aborted') throw this.aborted(req, attempt, state);
      if (failure.extra.congestion) origin.controller.noteCongestion(failure.extra.congestion);
      if (failure.extra.discardPartial) await this.discardPartial(req.tmpFile, state);
      if (failure.extra.integrity) integrityFailures++;
      const retry =
        failure.retryable && attempt < this.maxAttempts && integrityFailures < 2 && this.budget.tryTake();
      let delayMs = 0;
      if (retry) {
        const retryAfter = failure.extra.retryAfterMs === undefined ? 0 : Math.min(failure.extra.retryAfterMs, this.maxRetryAfterMs);
        if (retryAfter > 0) origin.pausedUntil = Math.max(origin.pausedUntil, Date.now() + retryAfter);
        delayMs = Math.max(fullJitterDelay(attempt - 1, this.backoff, this.random), retryAfter);
      }
      this.emit({
        origin: url.origin,
        url: req.url,
        status: failure.extra.status,
        durationMs: performance.now() - started,
        bytes: 0,
        outcome: retry ? 'retry' : 'error',
        attempt,
        delayMs: retry ? delayMs : undefined,
        error: failure.message,
      });
      if (!retry) {
        this.counters.failed++;
        this.opts.log?.debug({ url: req.url, attempts: attempt, code: failure.code }, failure.message);
        throw new DownloadError(failure.code, failure.message, attempt, failure.extra.status, req.url, {
          cause: failure.cause,
          resumable: state.sidecarWritten,
        });
      }
      this.counters.retries++;
      this.opts.log?.debug({ url: req.url, attempt, delayMs, reason: failure.message }, 'retrying');
      try {
        await sleep(delayMs, signal);
      } catch {
        throw this.aborted(req, attempt, state);
      }
    }
  }

  // ---- concurrency -------------------------------------------------------------------------

  private originState(origin: string): OriginState {
    let o = this.origins.get(origin);
    if (!o) {
      o = new OriginState(origin, { pinned: this.pinned, initial: this.initial, max: this.maxPerOrigin }, this.opts.log);
      this.origins.set(origin, o);
    }
    this.lastOrigin = o;
    return o;
  }

  private async acquire(origin: OriginState, signal: AbortSignal | undefined): Promise<void> {
    this.counters.queued++;
    let prober = false;
    try {
      for (;;) {
        // Honour a Retry-After pause for the whole origin (it may be extended while waiting).
        for (let wait = origin.pausedUntil - Date.now(); wait > 0; wait = origin.pausedUntil - Date.now()) {
          await sleep(wait, signal);
        }
        if (!prober) prober = await origin.awaitConnection(signal);
        if (!origin.slots.tryAcquire()) {
          origin.controller.noteSaturated();
          await origin.slots.acquire(signal);
        }
        try {
          await this.global.acquire(signal);
        } catch (e) {
          origin.slots.release();
          throw e;
        }
        if (origin.pausedUntil <= Date.now()) break;
        // A pause began while this request was queued: give the slot back and wait.
        this.global.release();
        origin.slots.release();
      }
    } catch (e) {
      if (prober) origin.settleProbe(false);
      throw e;
    } finally {
      this.counters.queued--;
    }
    this.counters.inFlight++;
  }

  private release(origin: OriginState): void {
    this.counters.inFlight--;
    this.global.release();
    origin.slots.release();
  }

  // ---- one attempt -------------------------------------------------------------------------

  private async attempt(
    req: DownloadRequest,
    state: ResumeState,
    origin: OriginState,
    attempt: number,
    signal: AbortSignal | undefined,
  ): Promise<DownloadResult> {
    let url = new URL(req.url);
    const visited = new Set([url.href]);
    const ifRange = state.offset > 0 ? ifRangeValue(state.validator) : null;
    const resumeFrom = ifRange ? state.offset : 0;
    for (;;) {
      const started = performance.now();
      const headers: Record<string, string> = { 'user-agent': this.userAgent, 'accept-encoding': 'identity' };
      if (req.etag) headers['if-none-match'] = req.etag;
      if (req.lastModified) headers['if-modified-since'] = req.lastModified;
      if (ifRange) {
        headers.range = `bytes=${resumeFrom}-`;
        headers['if-range'] = ifRange;
      }
      let res: ResponseStream;
      try {
        res = await openResponse(this.dispatcher, { origin: url.origin, path: url.pathname + url.search, method: 'GET', headers }, signal);
      } catch (err) {
        if (visited.size === 1) origin.settleProbe(false);
        throw this.toFailure(err, signal);
      }
      if (visited.size === 1) origin.settleProbe(true);
      const status = res.statusCode;
      const hop = (outcome: RequestEvent['outcome'], bytes = 0) =>
        this.emit({ origin: url.origin, url: url.href, status, durationMs: performance.now() - started, bytes, outcome, attempt });

      if (REDIRECT_STATUSES.has(status)) {
        await res.dump();
        const decision = decideRedirect(url, res.headers.location, visited, 5, this.opts.redirectHosts);
        if ('refuse' in decision) throw new AttemptFailure('redirect', decision.refuse, false, { status });
        hop('ok');
        url = decision.follow;
        visited.add(url.href);
        continue;
      }
      if (status === 304 && (req.etag || req.lastModified)) {
        await res.dump();
        hop('ok');
        return {
          status: 304,
          size: req.size ?? 0,
          checksums: {},
          etag: headerValue(res.headers.etag) ?? req.etag,
          lastModified: headerValue(res.headers['last-modified']) ?? req.lastModified,
          attempts: attempt,
          finalUrl: url.href,
        };
      }
      if (isMissingStatus(status)) {
        await res.dump();
        throw new AttemptFailure('not-found', `missing upstream: HTTP ${status} for ${url.href}`, false, { status });
      }
      if (status === 416 && resumeFrom) {
        await res.dump();
        throw new AttemptFailure('network', `range not satisfiable for ${url.href}: starting over`, true, { status, discardPartial: true });
      }
      if (status !== 200 && status !== 206) {
        await res.dump();
        const retryable = isRetryableStatus(status);
        throw new AttemptFailure('http', `HTTP ${status} for ${url.href}`, retryable, {
          status,
          retryAfterMs: retryable ? parseRetryAfter(res.headers['retry-after']) : undefined,
          congestion: isCongestionStatus(status) ? `HTTP ${status}` : undefined,
        });
      }
      let offset = 0;
      /** The whole body's size: from Content-Range for a partial answer, else Content-Length. */
      let total = numberHeader(res.headers['content-length']);
      if (status === 206) {
        const range = parseContentRange(res.headers['content-range']);
        if (!resumeFrom || !range || range.start !== resumeFrom) {
          await res.dump();
          throw new AttemptFailure('network', `unexpected partial response for ${url.href}`, true, { status, discardPartial: true });
        }
        offset = resumeFrom;
        total = range.total;
      }
      let result: Omit<DownloadResult, 'attempts'>;
      try {
        result = await this.receive(req, res, url, offset, total, state, origin, signal);
      } catch (err) {
        // Whatever stopped the body (a local error too) ends the exchange: an unread body left
        // open would keep the dispatcher's close() waiting forever.
        res.cancel(err);
        throw err;
      }
      hop('ok', result.size - offset);
      return { ...result, attempts: attempt, finalUrl: url.href };
    }
  }

  /** Streams the body to the tmp file, verifying size and checksums on the way. */
  private async receive(
    req: DownloadRequest,
    res: ResponseStream,
    url: URL,
    offset: number,
    total: number | undefined,
    state: ResumeState,
    origin: OriginState,
    signal: AbortSignal | undefined,
  ): Promise<Omit<DownloadResult, 'attempts'>> {
    const expectedSize = req.size;
    const codings = parseContentEncoding(res.headers['content-encoding']);
    const encoded = codings === null || codings.length > 0;
    if (encoded && offset > 0) {
      // An encoded range cannot be appended to identity bytes: start over.
      await res.dump();
      throw new AttemptFailure('network', `encoded partial response for ${url.href}`, true, { status: res.statusCode, discardPartial: true });
    }
    if (!encoded && expectedSize !== undefined && total !== undefined && total !== expectedSize) {
      await res.dump();
      throw new AttemptFailure('size', `size mismatch for ${url.href}: the server announces ${total} bytes, the index says ${expectedSize}`, true, {
        status: res.statusCode,
        discardPartial: true,
        integrity: true,
      });
    }
    const etag = headerValue(res.headers.etag);
    const lastModified = headerValue(res.headers['last-modified']);
    // Remember how to continue this body if the connection drops (never for an encoded body:
    // a decoder cannot restart mid-stream).
    state.validator = encoded ? null : { url: req.url, etag, lastModified, size: expectedSize ?? total };
    if (!ifRangeValue(state.validator)) state.validator = null;
    if (offset === 0 && state.validator && (expectedSize ?? total ?? 0) >= this.resumeMinBytes) {
      await this.io(req.tmpFile, () => writeSidecar(req.tmpFile, state.validator!));
      state.sidecarWritten = true;
    }

    const digest = StreamDigest.for(req.checksums);
    if (offset > 0) await this.io(req.tmpFile, () => hashPrefix(req.tmpFile, offset, digest));
    const decoded = encoded && codings ? new DecodedTrack(codings, req.checksums, expectedSize ?? Number.MAX_SAFE_INTEGER) : null;
    const rawLimit =
      expectedSize === undefined ? Infinity : encoded ? expectedSize + Math.ceil(expectedSize / 100) + 65_536 : expectedSize;

    const writer = await this.io(req.tmpFile, () => BufferedFileWriter.open(req.tmpFile, offset));
    let receiveError: unknown = null;
    let mtimeMs: number | undefined;
    try {
      for (let chunk = await res.next(); chunk; chunk = await res.next()) {
        digest.update(chunk);
        if (digest.bytes > rawLimit) {
          res.cancel(new Error('body larger than expected'));
          throw new AttemptFailure('size', `size mismatch for ${url.href}: the body is larger than the expected ${expectedSize} bytes`, true, {
            status: res.statusCode,
            discardPartial: true,
            integrity: true,
          });
        }
        decoded?.write(chunk);
        try {
          await writer.write(chunk);
        } catch (err) {
          throw localFailure(req.tmpFile, err);
        }
        this.counters.bytes += chunk.length;
        this.byteMeter.add(chunk.length);
        origin.controller.noteBytes(chunk.length);
        if (this.limiter) await this.limiter.take(chunk.length, signal);
      }
    } catch (err) {
      receiveError = err;
    }
    try {
      mtimeMs = await this.io(req.tmpFile, () => writer.close());
    } catch (err) {
      receiveError ??= err;
    }
    state.offset = writer.size;
    if (receiveError) {
      if (decoded) await decoded.end();
      throw receiveError instanceof AttemptFailure ? receiveError : this.toFailure(receiveError, signal);
    }

    let size = digest.bytes;
    let checksums = digest.digest();
    if (decoded) {
      const decodedOk = await decoded.end();
      const decodedCandidate = decodedOk ? { bytes: decoded.digest.bytes, checksums: decoded.digest.digest() } : null;
      const choice = chooseRepresentation({ bytes: size, checksums }, decodedCandidate, { checksums: req.checksums, size: expectedSize }, url.pathname);
      if (choice === 'decoded' && decodedCandidate && codings) {
        await this.io(req.tmpFile, () => decodeFileInPlace(req.tmpFile, codings));
        size = decodedCandidate.bytes;
        checksums = decodedCandidate.checksums;
        mtimeMs = undefined; // rewritten: the caller stats it
      }
    }
    if (expectedSize !== undefined && size !== expectedSize) {
      const short = !encoded && size < expectedSize;
      throw new AttemptFailure(
        'size',
        short
          ? `truncated body for ${url.href}: ${size} of ${expectedSize} bytes`
          : `size mismatch for ${url.href}: ${size} bytes, expected ${expectedSize}`,
        true,
        { status: res.statusCode, discardPartial: !short, integrity: !short },
      );
    }
    const mismatch = checksumMismatch(req.checksums, checksums);
    if (mismatch) {
      throw new AttemptFailure('checksum', `${mismatch.algo} mismatch for ${url.href}: expected ${mismatch.expected}, got ${mismatch.actual ?? 'nothing'}`, true, {
        status: res.statusCode,
        discardPartial: true,
        integrity: true,
      });
    }
    if (state.sidecarWritten) await this.io(req.tmpFile, () => removeSidecar(req.tmpFile));
    return { status: 200, size, checksums, etag, lastModified, mtimeMs };
  }

  // ---- resume ------------------------------------------------------------------------------

  private async initialResumeState(req: DownloadRequest): Promise<ResumeState> {
    const state: ResumeState = { offset: 0, validator: null, sidecarWritten: false };
    // Only downloads big enough to record a sidecar can be resumed: skip the look for others.
    if (req.size !== undefined && req.size < this.resumeMinBytes) return state;
    const have = await partialSize(req.tmpFile);
    if (have === 0) return state;
    const validator = await readSidecar(req.tmpFile);
    const sizeFits = req.size === undefined || validator?.size === undefined || (validator.size === req.size && have < req.size);
    if (validator && validator.url === req.url && sizeFits && ifRangeValue(validator)) {
      state.offset = have;
      state.validator = validator;
      state.sidecarWritten = true;
      this.opts.log?.debug({ url: req.url, offset: have }, 'resuming partial download');
    } else if (validator) {
      await removeSidecar(req.tmpFile); // another URL or size: these bytes will never continue
    }
    return state;
  }

  private async discardPartial(tmpFile: string, state: ResumeState): Promise<void> {
    state.offset = 0;
    state.validator = null;
    if (state.sidecarWritten) await removeSidecar(tmpFile).catch(() => undefined);
    state.sidecarWritten = false;
  }

  // ---- helpers -----------------------------------------------------------------------------

  private toFailure(err: unknown, signal: AbortSignal | undefined): AttemptFailure {
    if (err instanceof AttemptFailure) return err;
    if (signal?.aborted) return new AttemptFailure('aborted', 'aborted', false, { cause: err });
    const label = networkErrorLabel(err);
    return new AttemptFailure('network', `network error: ${label}${err instanceof Error && err.message !== label ? ` (${err.message})` : ''}`, true, {
      cause: err,
      congestion: isCongestionError(err) ? label : undefined,
      // An error nobody recognises still gets retried (bounded by attempts), just not resumed.
      discardPartial: !isNetworkError(err),
    });
  }

  /**
   * Runs a filesystem operation on the tmp file (or its sidecar); its failure (a full disk...)
   * is final ('local', never retried against the network) and leaves nothing worth resuming.
   */
  private async io<T>(tmpFile: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw localFailure(tmpFile, err);
    }
  }

  private aborted(req: DownloadRequest, attempts: number, state: ResumeState): DownloadError {
    return new DownloadError('aborted', `download of ${req.url} aborted`, attempts, undefined, req.url, { resumable: state.sidecarWritten });
  }

  private emit(event: RequestEvent): void {
    try {
      this.opts.onRequest?.(event);
    } catch (err) {
      this.opts.log?.warn({ err }, 'onRequest hook failed');
    }
  }
}

function localFailure(tmpFile: string, err: unknown): AttemptFailure {
  return new AttemptFailure('local', `cannot write ${tmpFile}: ${(err as Error).message}`, false, { cause: err, discardPartial: true });
}

function combineSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (!a || a === b) return b;
  if (!b) return a;
  return AbortSignal.any([a, b]);
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function numberHeader(v: string | string[] | undefined): number | undefined {
  const s = headerValue(v);
  if (s === undefined || !/^\d+$/.test(s.trim())) return undefined;
  return Number(s);
}
