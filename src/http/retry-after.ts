// Parses an HTTP Retry-After header value into a delay in milliseconds. Accepts both forms the
// RFC allows: delta-seconds ("120") and an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT").
// Returns undefined for a missing or malformed value; a date in the past yields 0.

export function parseRetryAfter(value: string | string[] | undefined, nowMs: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only accept something that looks like an HTTP-date, not arbitrary strings Date.parse likes.
  if (!/^[A-Za-z]{3},? /.test(text) && !/GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
