// Adaptive concurrency for one origin ("auto pipelining"): a hill-climbing controller.
//   - It starts at a moderate limit and measures throughput (files/s and bytes/s) per window.
//   - While the limit is actually the bottleneck (requests were queued during the window) and
//     throughput rose by at least `gain`, it grows the limit (x1.5); if growing made throughput
//     clearly worse, it steps back; after several flat windows it probes upward again.
//   - A congestion signal (429/503, timeout, connection reset) cuts the limit in half at once
//     and holds it for a cool-down, like TCP's multiplicative decrease.
// A pinned controller (--concurrency N) never moves. The clock is injectable for tests.

export interface AdaptiveConcurrencyOptions {
  initial?: number;
  min?: number;
  max?: number;
  /** Pin the limit (no adaptation). */
  pinned?: number;
  windowMs?: number;
  now?: () => number;
  onChange?: (limit: number, reason: string) => void;
}

interface Sample {
  limit: number;
  filesPerSec: number;
  bytesPerSec: number;
}

const GROWTH = 1.5;
const GAIN = 0.05;
const LOSS = 0.15;
const PROBE_AFTER_FLAT_WINDOWS = 4;

export class AdaptiveConcurrency {
  private current: number;
  readonly min: number;
  readonly max: number;
  readonly pinned: boolean;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly onChange?: (limit: number, reason: string) => void;

  private windowStart: number;
  private windowFiles = 0;
  private windowBytes = 0;
  private windowSaturated = false;
  private previous: Sample | null = null;
  private lastAction: 'grow' | 'hold' | 'back' = 'hold';
  private limitBeforeGrowth = 0;
  private flatWindows = 0;
  private coolDownUntil = 0;

  constructor(opts: AdaptiveConcurrencyOptions = {}) {
    this.now = opts.now ?? (() => performance.now());
    this.pinned = opts.pinned !== undefined;
    this.min = Math.max(1, opts.min ?? 1);
    this.max = Math.max(this.min, opts.pinned ?? opts.max ?? 256);
    this.current = clamp(opts.pinned ?? opts.initial ?? 16, this.min, this.max);
    this.windowMs = opts.windowMs ?? 1000;
    this.onChange = opts.onChange;
    this.windowStart = this.now();
  }

  get limit(): number {
    return this.current;
  }

  /** Demand exceeded the limit (a request had to wait): growing could help. */
  noteSaturated(): void {
    this.windowSaturated = true;
  }

  noteBytes(n: number): void {
    this.windowBytes += n;
    this.maybeEvaluate();
  }

  noteFileDone(): void {
    this.windowFiles++;
    this.maybeEvaluate();
  }

  /** 429/503, a timeout or a reset: multiplicative decrease and a cool-down. */
  noteCongestion(reason: string): void {
    if (this.pinned) return;
    const t = this.now();
    // One cut per window: a burst of failures from the same overload counts once.
    if (t < this.coolDownUntil - this.windowMs) return;
    this.set(Math.floor(this.current / 2), `congestion: ${reason}`);
    this.coolDownUntil = t + 2 * this.windowMs;
    this.previous = null;
    this.lastAction = 'back';
    this.resetWindow(t);
  }

  private maybeEvaluate(): void {
    if (this.pinned) return;
    const t = this.now();
    const elapsed = t - this.windowStart;
    if (elapsed < this.windowMs) return;
    const sample: Sample = {
      limit: this.current,
      filesPerSec: (this.windowFiles * 1000) / elapsed,
      bytesPerSec: (this.windowBytes * 1000) / elapsed,
    };
    const saturated = this.windowSaturated;
    this.resetWindow(t);
    if (t < this.coolDownUntil) return;
    const prev = this.previous;
    this.previous = sample;
    if (!saturated) {
      this.lastAction = 'hold';
      return; // the limit is not what holds throughput back
    }
    if (!prev) return this.grow('first saturated window');
    const rise = Math.max(ratio(sample.filesPerSec, prev.filesPerSec), ratio(sample.bytesPerSec, prev.bytesPerSec));
    const fall = Math.min(ratio(sample.filesPerSec, prev.filesPerSec), ratio(sample.bytesPerSec, prev.bytesPerSec));
    if (this.lastAction === 'grow' && fall < -LOSS) {
      this.lastAction = 'back';
      this.flatWindows = 0;
      this.set(this.limitBeforeGrowth, 'growth reduced throughput');
      return;
    }
    if (this.lastAction === 'grow' ? rise > GAIN : rise > GAIN && fall > -GAIN) return this.grow('throughput rising');
    this.lastAction = 'hold';
    if (++this.flatWindows >= PROBE_AFTER_FLAT_WINDOWS) this.grow('probe');
  }

  private grow(reason: string): void {
    this.flatWindows = 0;
    if (this.current >= this.max) {
      this.lastAction = 'hold';
      return;
    }
    this.limitBeforeGrowth = this.current;
    this.lastAction = 'grow';
    this.set(Math.ceil(this.current * GROWTH), reason);
  }

  private set(limit: number, reason: string): void {
    const next = clamp(limit, this.min, this.max);
    if (next === this.current) return;
    this.current = next;
    this.onChange?.(next, reason);
  }

  private resetWindow(t: number): void {
    this.windowStart = t;
    this.windowFiles = 0;
    this.windowBytes = 0;
    this.windowSaturated = false;
  }
}

function ratio(cur: number, prev: number): number {
  if (prev <= 0) return cur > 0 ? 1 : 0;
  return (cur - prev) / prev;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.floor(n)));
}
