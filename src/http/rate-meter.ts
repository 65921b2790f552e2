// Sliding-window rate meter (bytes/s, files/s) for progress output: counts in 250 ms buckets
// over the last 5 s, so the shown rate follows changes quickly without jumping per chunk.

const BUCKET_MS = 250;
const BUCKETS = 20;

export class RateMeter {
  private readonly counts = new Float64Array(BUCKETS);
  private head = 0;
  private headStart: number;
  private readonly started: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.started = this.headStart = now();
  }

  add(n: number): void {
    this.advance();
    this.counts[this.head] += n;
  }

  /** Units per second over the window (or since start, if younger than the window). */
  perSecond(): number {
    this.advance();
    const t = this.now();
    const span = Math.min(BUCKETS * BUCKET_MS, Math.max(t - this.started, 1), (BUCKETS - 1) * BUCKET_MS + (t - this.headStart));
    let sum = 0;
    for (const c of this.counts) sum += c;
    return (sum * 1000) / span;
  }

  private advance(): void {
    const t = this.now();
    let steps = Math.floor((t - this.headStart) / BUCKET_MS);
    if (steps <= 0) return;
    this.headStart += steps * BUCKET_MS;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % BUCKETS;
      this.counts[this.head] = 0;
    }
  }
}
