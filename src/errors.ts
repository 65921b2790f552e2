// Error kinds that map to exit codes: UsageError → 2 (bad input, nothing done).
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURES = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;
