// Unit tests of the downloader's single-purpose helpers (pure logic, fake clocks).
import { describe, expect, it } from 'vitest';
import { fullJitterDelay, backoffFromEnv } from '../src/http/backoff.js';
import { parseRetryAfter } from '../src/http/retry-after.js';
import { decideRedirect } from '../src/http/redirect-policy.js';
import { AdaptiveConcurrency } from '../src/http/adaptive-concurrency.js';
import { RateLimiter } from '../src/http/rate-limiter.js';
import { Semaphore } from '../src/http/semaphore.js';
import { RetryBudget, isRetryableStatus, isMissingStatus } from '../src/http/retry-policy.js';
import { parseContentEncoding, chooseRepresentation, DecodedTrack } from '../src/http/content-encoding.js';
import { gzipSync } from 'node:zlib';
import { onAbort } from '../src/http/abort-listeners.js';
import { parseContentRange, ifRangeValue } from '../src/http/resume.js';

describe('backoff', () => {
  it('is full jitter under an exponential, capped bound', () => {
    const p = { baseMs: 100, capMs: 1000 };
    expect(fullJitterDelay(0, p, () => 0.999)).toBe(99);
    expect(fullJitterDelay(2, p, () => 0.5)).toBe(200);
    expect(fullJitterDelay(10, p, () => 0.999)).toBe(999);
    expect(fullJitterDelay(3, p, () => 0)).toBe(0);
  });
  it('reads MIRROR_RETRY_BASE_MS / MIRROR_RETRY_CAP_MS', () => {
    expect(backoffFromEnv({ baseMs: 500, capMs: 30000 }, { MIRROR_RETRY_BASE_MS: '5', MIRROR_RETRY_CAP_MS: 'x' })).toEqual({ baseMs: 5, capMs: 30000 });
  });
});

describe('Retry-After', () => {
  const now = Date.UTC(2024, 0, 1, 0, 0, 0);
  it('parses delta-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 23:00:00 GMT', now)).toBe(0);
  });
  it('rejects garbage', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
  });
});

describe('redirect policy', () => {
  const from = new URL('http://a.test/x/y');
  it('follows relative and absolute http(s) locations', () => {
    expect(decideRedirect(from, '../z', new Set([from.href]), 5)).toEqual({ follow: new URL('http://a.test/z') });
    expect(decideRedirect(from, 'https://b.test/q', new Set([from.href]), 5)).toEqual({ follow: new URL('https://b.test/q') });
  });
  it('refuses other schemes, loops, missing locations and long chains', () => {
    expect(decideRedirect(from, 'file:///etc/passwd', new Set([from.href]), 5)).toHaveProperty('refuse');
    expect(decideRedirect(from, 'ftp://a.test/', new Set([from.href]), 5)).toHaveProperty('refuse');
    expect(decideRedirect(from, '/x/y', new Set([from.href]), 5)).toHaveProperty('refuse');
    expect(decideRedirect(from, undefined, new Set([from.href]), 5)).toHaveProperty('refuse');
    const visited = new Set(['1', '2', '3', '4', '5', '6'].map((n) => `http://a.test/${n}`));
    expect(decideRedirect(from, '/7', visited, 5)).toHaveProperty('refuse');
  });
});

describe('adaptive concurrency', () => {
  function clock() {
    let t = 0;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  }
  it('grows while throughput rises and the limit is saturated', () => {
    const c = clock();
    const ac = new AdaptiveConcurrency({ initial: 8, max: 100, windowMs: 1000, now: c.now });
    let files = 100;
    for (let w = 0; w < 4; w++) {
      ac.noteSaturated();
      c.advance(1000);
      for (let i = 0; i < files; i++) ac.noteFileDone();
      files = Math.round(files * 1.4);
    }
    expect(ac.limit).toBeGreaterThan(8 * 1.5 * 1.5);
  });
  it('does not grow when demand is below the limit', () => {
    const c = clock();
    const ac = new AdaptiveConcurrency({ initial: 8, windowMs: 1000, now: c.now });
    for (let w = 0; w < 10; w++) {
      c.advance(1000);
      for (let i = 0; i < 50 * (w + 1); i++) ac.noteFileDone();
    }
    expect(ac.limit).toBe(8);
  });
  it('steps back when growth made throughput worse', () => {
    const c = clock();
    const ac = new AdaptiveConcurrency({ initial: 10, windowMs: 1000, now: c.now });
    ac.noteSaturated();
    c.advance(1000);
    ac.noteBytes(1000); // first saturated window -> grow to 15
    expect(ac.limit).toBe(15);
    ac.noteSaturated();
    c.advance(1000);
    ac.noteBytes(500); // halved throughput after growth -> back to 10
    expect(ac.limit).toBe(10);
  });
  it('halves on congestion, once per window, and never below min', () => {
    const c = clock();
    const ac = new AdaptiveConcurrency({ initial: 32, windowMs: 1000, now: c.now });
    ac.noteCongestion('HTTP 503');
    ac.noteCongestion('HTTP 503');
    expect(ac.limit).toBe(16);
    c.advance(1500);
    ac.noteCongestion('ECONNRESET');
    expect(ac.limit).toBe(8);
    for (let i = 0; i < 10; i++) {
      c.advance(1500);
      ac.noteCongestion('x');
    }
    expect(ac.limit).toBe(1);
  });
  it('a pinned limit never moves', () => {
    const ac = new AdaptiveConcurrency({ pinned: 7 });
    ac.noteCongestion('HTTP 429');
    expect(ac.limit).toBe(7);
  });
});

describe('rate limiter', () => {
  it('computes waits that hold the average rate', () => {
    let t = 0;
    const rl = new RateLimiter({ bytesPerSec: 1000, burstBytes: 100, now: () => t });
    expect(rl.consume(100)).toBe(0);
    expect(rl.consume(500)).toBe(500);
    t = 500;
    expect(rl.consume(0)).toBe(0);
  });
});

describe('abort listeners', () => {
  it('calls every registered callback once on abort, and none that was forgotten', () => {
    const ac = new AbortController();
    const calls: string[] = [];
    const forgetA = onAbort(ac.signal, () => calls.push('a'));
    onAbort(ac.signal, () => calls.push('b'));
    forgetA();
    ac.abort();
    ac.abort();
    expect(calls).toEqual(['b']);
  });
});

describe('semaphore', () => {
  it('queues beyond the limit, follows limit changes and leaves on abort', async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const order: string[] = [];
    const b = s.acquire().then(() => order.push('b'));
    const ac = new AbortController();
    const c = s.acquire(ac.signal).catch(() => order.push('c aborted'));
    const d = s.acquire().then(() => order.push('d'));
    ac.abort();
    await c;
    s.setLimit(3);
    await Promise.all([b, d]);
    expect(order).toEqual(['c aborted', 'b', 'd']);
    expect(s.inUse).toBe(3);
  });
});

describe('retry policy', () => {
  it('classifies statuses', () => {
    for (const s of [408, 425, 429, 500, 502, 503, 504]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 410, 451]) expect(isRetryableStatus(s)).toBe(false);
    expect(isMissingStatus(404) && isMissingStatus(410)).toBe(true);
  });
  it('caps retries per run', () => {
    const b = new RetryBudget({ base: 2, perFile: 0.5 });
    b.noteFileStarted();
    b.noteFileStarted();
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
  });
});

describe('content encoding and resume helpers', () => {
  it('a decoded track that overflows after end() was called still settles', async () => {
    const track = new DecodedTrack(['gzip'], {}, 10);
    track.write(gzipSync(Buffer.from('x'.repeat(5000))));
    expect(await track.end()).toBe(false);
  });

  it('parses codings in undo order and rejects unknown ones', () => {
    expect(parseContentEncoding('gzip')).toEqual(['gzip']);
    expect(parseContentEncoding('deflate, br')).toEqual(['br', 'deflate']);
    expect(parseContentEncoding('identity')).toEqual([]);
    expect(parseContentEncoding(undefined)).toEqual([]);
    expect(parseContentEncoding('zstd')).toBeNull();
  });
  it('keeps the representation the index describes', () => {
    const raw = { bytes: 10, checksums: { sha256: 'aa' } };
    const dec = { bytes: 30, checksums: { sha256: 'bb' } };
    expect(chooseRepresentation(raw, dec, { checksums: { sha256: 'bb' } }, '/f')).toBe('decoded');
    expect(chooseRepresentation(raw, dec, { checksums: { sha256: 'AA' } }, '/f')).toBe('raw');
    expect(chooseRepresentation(raw, dec, { size: 30 }, '/f')).toBe('decoded');
    expect(chooseRepresentation(raw, dec, {}, '/f.tar.gz')).toBe('raw');
    expect(chooseRepresentation(raw, dec, {}, '/f.json')).toBe('decoded');
  });
  it('parses Content-Range and picks an If-Range validator', () => {
    expect(parseContentRange('bytes 100-199/200')).toEqual({ start: 100, end: 199, total: 200 });
    expect(parseContentRange('bytes 0-1/*')).toEqual({ start: 0, end: 1, total: undefined });
    expect(parseContentRange('items 1-2/3')).toBeNull();
    expect(ifRangeValue({ url: 'u', etag: 'W/"x"', lastModified: 'd' })).toBe('d');
    expect(ifRangeValue({ url: 'u', etag: '"x"' })).toBe('"x"');
    expect(ifRangeValue({ url: 'u', etag: 'W/"x"' })).toBeNull();
  });
});
