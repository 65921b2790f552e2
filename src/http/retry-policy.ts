// What is worth retrying, and how many retries a file and a whole run may spend.
// - Statuses: 408, 425, 429 and every 5xx are transient; 404/410 mean "missing upstream" and
//   are final; anything else is final.
// - Network errors (resets, refused, timeouts, premature close) are transient.
// - Congestion (the origin is overloaded: 429, 503, timeouts, resets) also tells the adaptive
//   concurrency controller to back off.
// - RetryBudget caps retries per run: a fixed allowance plus a share of the files started, so
//   a dead upstream fails fast instead of every file spending its whole attempt budget.

const RETRYABLE_STATUS = new Set([408, 425, 429]);
const CONGESTION_STATUS = new Set([408, 429, 503]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status) || (status >= 500 && status <= 599);
}

export function isMissingStatus(status: number): boolean {
  return status === 404 || status === 410;
}

export function isCongestionStatus(status: number): boolean {
  return CONGESTION_STATUS.has(status);
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPROTO',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_INFO',
]);
const CONGESTION_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') codes.push(e.code);
  }
  return codes;
}

export function isNetworkError(err: unknown): boolean {
  return errorCodes(err).some((c) => NETWORK_CODES.has(c));
}

export function isCongestionError(err: unknown): boolean {
  return errorCodes(err).some((c) => CONGESTION_CODES.has(c));
}

/** A short label for logs and congestion reasons ("ECONNRESET", "UND_ERR_BODY_TIMEOUT"...). */
export function networkErrorLabel(err: unknown): string {
  return errorCodes(err)[0] ?? (err instanceof Error ? err.message : String(err));
}

export interface RetryBudgetOptions {
  /** Retries always allowed in a run. */
  base: number;
  /** Extra retries allowed per file started. */
  perFile: number;
}

export class RetryBudget {
  private files = 0;
  private spent = 0;
  constructor(private readonly opts: RetryBudgetOptions) {}

  noteFileStarted(): void {
    this.files++;
  }

  /** Takes one retry from the run's budget; false when it is exhausted. */
  tryTake(): boolean {
    if (this.spent >= this.opts.base + this.opts.perFile * this.files) return false;
    this.spent++;
    return true;
  }
}
