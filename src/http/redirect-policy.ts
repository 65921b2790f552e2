// Redirect policy: follow at most `maxHops` redirects, only to http: or https: URLs, never from
// https: down to http:, and never around a loop. Redirects to other hosts are followed
// (registries send clients to CDNs) unless `allowedHosts` is given: then only to the first
// URL's host or one it names (`host`, `host:port`, or `*.domain` for any subdomain). Returns the
// absolute URL to fetch next or a reason it must not be followed.

export const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export type RedirectDecision = { follow: URL } | { refuse: string };

export function decideRedirect(
  from: URL,
  location: string | string[] | undefined,
  visited: ReadonlySet<string>,
  maxHops: number,
  allowedHosts?: readonly string[],
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
  if (from.protocol === 'https:' && next.protocol === 'http:') {
    return { refuse: `redirect from ${from.href} to ${next.href} is a downgrade from https: to http:` };
  }
  const first = new URL([...visited][0] ?? from.href);
  if (allowedHosts && next.host !== first.host && !allowedHosts.some((h) => hostMatches(next, h))) {
    return { refuse: `redirect from ${from.href} to ${next.href}: ${next.host} is not one of --redirect-hosts` };
  }
  next.hash = '';
  if (visited.has(next.href)) return { refuse: `redirect loop at ${next.href}` };
  if (visited.size > maxHops) return { refuse: `more than ${maxHops} redirects from ${[...visited][0]}` };
  return { follow: next };
}

function hostMatches(url: URL, allowed: string): boolean {
  const host = allowed.toLowerCase();
  if (host.startsWith('*.')) return url.hostname.endsWith(host.slice(1));
  return url.host === host || url.hostname === host;
}
