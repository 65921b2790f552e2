// A shared byte-rate limiter (token bucket allowing debt): every consumer calls take(n) after
// receiving n bytes and waits as long as the bucket is in debt, so the aggregate rate of all
// downloads converges to `bytesPerSec` while short bursts up to `burstBytes` pass untouched.

import { sleep } from './sleep.js';

export interface RateLimiterOptions {
  bytesPerSec: number;
  burstBytes?: number;
  now?: () => number;
}

export class RateLimiter {
  readonly bytesPerSec: number;
  private readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.bytesPerSec > 0)) throw new RangeError('rate limit must be a positive number of bytes per second');
    this.bytesPerSec = opts.bytesPerSec;
    this.burst = opts.burstBytes ?? Math.max(64 * 1024, opts.bytesPerSec / 10);
    this.now = opts.now ?? (() => performance.now());
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Milliseconds the caller must wait after consuming n bytes (0 when within budget). */
  consume(n: number): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.bytesPerSec);
    this.last = t;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.bytesPerSec) * 1000;
  }

  async take(n: number, signal?: AbortSignal): Promise<void> {
    const waitMs = this.consume(n);
    if (waitMs > 0) await sleep(waitMs, signal);
  }
}
