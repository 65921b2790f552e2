// The apt source: mirrors Debian/Ubuntu archives the way Debian's own mirrors do.
//
// Contract: `mirror sync apt <archive-url> <dest> --suite S... --arch A... [--component C...]`.
// discover() fetches each suite's InRelease first; when the options and every suite's root
// fingerprint match the cursor (and the signature still verifies), the run is a no-op 'delta'.
// Otherwise every suite is mirrored in full (see suite.ts): pool files as blobs, indexes staged
// and published by-hash first, then plain names, then Release, Release.gpg, InRelease last.
// Pool files and by-hash entries no longer referenced are left out, so the engine deletes them
// after publish. The cursor: { v, options, suites: { <suite>: { root, byHash } } }.
import { join } from 'node:path';
import type { DiscoverContext, DiscoverResult, Source } from '../types.js';
import { compileFilter } from './filter.js';
import { prepareKeyring } from './gpg.js';
import { APT_OPTIONS, AptOptionError, optionsKey, readOptions } from './options.js';
import { completeRoot, fetchRoot, mirrorSuite, PoolEmitter, readRoot, type SuiteCursor, type SuiteRoot } from './suite.js';

interface AptCursor {
  v: 1;
  options: string;
  suites: Record<string, SuiteCursor>;
}

function readCursor(value: unknown): AptCursor | null {
  if (!value || typeof value !== 'object') return null;
  const c = value as Partial<AptCursor>;
  if (c.v !== 1 || typeof c.options !== 'string' || !c.suites || typeof c.suites !== 'object') return null;
  return c as AptCursor;
}

function archiveBase(upstream: string): string {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new AptOptionError(`'${upstream}' is not a URL (expected e.g. http://deb.debian.org/debian)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AptOptionError(`'${upstream}': only http(s) archives are supported`);
  url.search = '';
  url.hash = '';
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

async function discover(upstream: string, outer: DiscoverContext): Promise<DiscoverResult> {
  let problems = 0;
  const ctx: DiscoverContext = {
    ...outer,
    reportProblem: (message) => {
      problems++;
      outer.reportProblem(message);
    },
  };
  const opts = readOptions(ctx.options);
  const base = archiveBase(upstream);
  const filter = compileFilter(opts);
  const key = optionsKey(opts);
  const previous = readCursor(ctx.cursor);
  const gpgDir = join(ctx.stagingDir, 'apt', 'gpg');
  const keyring = opts.verifySignature ? await prepareKeyring(opts.keyring!, gpgDir) : null;
  if (!keyring) {
    ctx.log.warn('apt: --no-verify-signature: the Release signature is NOT checked; this mirror is only as trustworthy as the network path to upstream');
  }

  const roots: SuiteRoot[] = [];
  for (const [i, suite] of opts.suites.entries()) roots.push(await fetchRoot(ctx, base, suite, i));

  const unchanged = previous !== null && previous.options === key && roots.every((r) => previous.suites[r.suite]?.root === r.fingerprint);
  if (unchanged) {
    // Same bytes as a fully mirrored run: still make sure the keyring accepts them today.
    for (const r of roots) await readRoot(r, keyring, gpgDir, () => {});
    ctx.log.info({ suites: opts.suites }, 'apt: every Release is unchanged since the last run; nothing to do');
    return { mode: 'delta', cursor: previous };
  }

  // Check every suite before emitting anything from any of them.
  const texts: string[] = [];
  for (const r of roots) {
    await completeRoot(ctx, base, r);
    texts.push(await readRoot(r, keyring, gpgDir, (m) => ctx.log.warn(m)));
  }
  const pool = new PoolEmitter(ctx, base);
  const emittedIndexes = new Set<string>();
  const cursor: AptCursor = { v: 1, options: key, suites: {} };
  for (const [i, root] of roots.entries()) {
    cursor.suites[root.suite] = await mirrorSuite({
      ctx,
      base,
      root,
      releaseText: texts[i],
      opts,
      filter,
      pool,
      emittedIndexes,
      previous: previous?.suites[root.suite] ?? null,
    });
  }
  // A run with upstream problems must not let the next run take the "unchanged" fast path.
  if (problems > 0) for (const s of Object.values(cursor.suites)) s.root = 'incomplete';
  return { mode: 'full', cursor };
}

export const aptSource: Source = {
  kind: 'apt',
  summary: 'Debian/Ubuntu apt archive: signed Release, by-hash indexes, pool',
  options: APT_OPTIONS,
  discover,
};

