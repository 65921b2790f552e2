// Retry delays: exponential backoff with "full jitter" (a uniformly random delay between zero and
// the capped exponential bound), so that many clients retrying at once spread out instead of
// hammering an origin in lock-step.

export interface BackoffPolicy {
  /** Bound of the first retry's delay (ms). */
  baseMs: number;
  /** No delay ever exceeds this (ms). */
  capMs: number;
}

/** Delay before retry number `retryIndex` (0 = first retry). `random` returns [0, 1). */
export function fullJitterDelay(retryIndex: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const bound = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(retryIndex, 30));
  return Math.floor(random() * bound);
}

/** Reads test-friendly overrides (MIRROR_RETRY_BASE_MS, MIRROR_RETRY_CAP_MS) over the defaults. */
export function backoffFromEnv(defaults: BackoffPolicy, env: NodeJS.ProcessEnv = process.env): BackoffPolicy {
  const num = (v: string | undefined, d: number) => {
    const n = v === undefined || v === '' ? NaN : Number(v);
    return Number.isFinite(n) && n >= 0 ? n : d;
  };
  return { baseMs: num(env.MIRROR_RETRY_BASE_MS, defaults.baseMs), capMs: num(env.MIRROR_RETRY_CAP_MS, defaults.capMs) };
}
