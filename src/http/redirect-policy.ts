// Redirect policy: follow at most `maxHops` redirects, only to http: or https: URLs, and never
// around a loop. Returns the absolute URL to fetch next or a reason it must not be followed.

export const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export type RedirectDecision = { follow: URL } | { refuse: string };

export function decideRedirect(
  from: URL,
  location: string | string[] | undefined,
  visited: ReadonlySet<string>,
  maxHops: number,
): RedirectDecision {
  const loc = Array.isArray(location) ? location[0] : location;
  if (!loc) return { refuse: `redirect from ${from.href} without a Location header` };
  let next: URL;
  try {
    next = new URL(loc, from);
  } catch {
    return { refuse: `redirect from ${from.href} to an invalid URL` };
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    return { refuse: `redirect from ${from.href} to a ${next.protocol} URL is not allowed` };
  }
  next.hash = '';
  if (visited.has(next.href)) return { refuse: `redirect loop at ${next.href}` };
  if (visited.size > maxHops) return { refuse: `more than ${maxHops} redirects from ${[...visited][0]}` };
  return { follow: next };
}
