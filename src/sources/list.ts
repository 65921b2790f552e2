// The `list` source: a plain list of URLs (one per line, '#' comments and blank lines ignored),
// optionally with a JSONL file of expected checksums ({"url", "sha256", "size", "md5", "sha512"}).
// Each URL is stored at `<host>/<path>` under the mirror root. There is no index: every run is
// a full snapshot, so a URL removed from the list is deleted from the mirror.
import { createReadStream, existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { sha256File } from '../util/hash-file.js';
import { createInterface } from 'node:readline';
import type { Checksums, DiscoverContext, DiscoverResult, Source } from './types.js';

interface Expected {
  size?: number;
  checksums: Checksums;
}

export const listSource: Source = {
  kind: 'list',
  summary: 'a list of URLs (one per line), stored as <host>/<path>',
  options: [
    { flag: 'checksums', type: 'string', description: 'JSONL file of {"url","sha256","size","md5","sha512"} to verify downloads against' },
  ],
  async discover(upstream: string, ctx: DiscoverContext): Promise<DiscoverResult> {
    const listFile = await localCopy(upstream, 'urls.txt', ctx);
    const checksumsArg = ctx.options['checksums'];
    const checksumsFile = typeof checksumsArg === 'string' ? await localCopy(checksumsArg, 'sums.jsonl', ctx) : null;
    const expected = checksumsFile ? await readChecksums(checksumsFile, ctx) : new Map<string, Expected>();
    let lineNo = 0;
    for await (const rawLine of lines(listFile)) {
      lineNo++;
      const line = rawLine.trim();
      if (line === '' || line.startsWith('#')) continue;
      let url: URL;
      try {
        url = new URL(line);
      } catch {
        ctx.reportProblem(`${upstream}:${lineNo}: not a URL: '${line.slice(0, 200)}'`);
        continue;
      }
      const path = pathForUrl(url);
      if (path === null) {
        ctx.reportProblem(`${upstream}:${lineNo}: cannot derive a file path from '${line.slice(0, 200)}'`);
        continue;
      }
      const known = expected.get(url.href);
      ctx.emit({ kind: 'blob', path, url: url.href, size: known?.size, checksums: known?.checksums ?? {} });
    }
    // The cursor records which list (and checksums) the mirror last matched completely.
    return { mode: 'full', cursor: { list: await sha256File(listFile), checksums: checksumsFile ? await sha256File(checksumsFile) : null } };
  },
};

/** `<host>/<decoded path>`; null when a segment decodes to something that cannot be a name. */
export function pathForUrl(url: URL): string | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const segments = url.pathname.split('/').slice(1);
  const decoded: string[] = [];
  for (const segment of segments) {
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      return null;
    }
    if (name.includes('/')) return null;
    decoded.push(name);
  }
  // The engine validates the rest ('..', empty segments, NUL, length).
  return [url.host, ...decoded].join('/');
}

async function localCopy(location: string, name: string, ctx: DiscoverContext): Promise<string> {
  if (!/^https?:\/\//i.test(location)) {
    if (!existsSync(location)) throw new UsageError(`no such file: ${location}`);
    return location;
  }
  const fetched = await ctx.fetchToStaging(location, name);
  return fetched!.file!;
}

async function readChecksums(file: string, ctx: DiscoverContext): Promise<Map<string, Expected>> {
  const map = new Map<string, Expected>();
  let lineNo = 0;
  for await (const line of lines(file)) {
    lineNo++;
    if (line.trim() === '') continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      ctx.reportProblem(`${file}:${lineNo}: not a JSON object`);
      continue;
    }
    if (typeof record.url !== 'string') {
      ctx.reportProblem(`${file}:${lineNo}: missing "url"`);
      continue;
    }
    const checksums: Checksums = {};
    for (const algo of ['sha256', 'sha512', 'sha1', 'md5'] as const) {
      if (typeof record[algo] === 'string') checksums[algo] = record[algo] as string;
    }
    const size = typeof record.size === 'number' ? record.size : undefined;
    let href: string;
    try {
      href = new URL(record.url).href;
    } catch {
      ctx.reportProblem(`${file}:${lineNo}: not a URL: '${record.url.slice(0, 200)}'`);
      continue;
    }
    map.set(href, { size, checksums });
  }
  return map;
}

function lines(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file), crlfDelay: Infinity });
}
