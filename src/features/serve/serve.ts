// A static HTTP server for a mirror directory, good enough for a small site and for the demo.
//
// Contract: GET/HEAD only. Paths are decoded once and refused (400) when they hold '..', '.',
// backslashes, NUL or empty segments, so nothing outside the root is ever named; a symlink that
// resolves outside the root is 404. `<root>/.mirror/` (the state DB, manifests) is never served.
// Files get a content type from their extension (extensionless text files are text/plain), a
// strong ETag and Last-Modified, 304 on If-None-Match / If-Modified-Since (cargo's sparse
// protocol and apt revalidate this way), single byte ranges (206 / 416, If-Range honoured).
// Directories redirect to a trailing slash and answer index.html or a generated listing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import { join, sep, extname } from 'node:path';
import type { Logger } from 'pino';
import { listenOn, type RunningServer } from '../listen.js';

const PRIVATE_DIR = '.mirror';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.xml': 'application/xml',
  '.toml': 'application/toml',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.gz': 'application/gzip',
  '.tgz': 'application/gzip',
  '.crate': 'application/gzip',
  '.xz': 'application/x-xz',
  '.bz2': 'application/x-bzip2',
  '.zst': 'application/zstd',
  '.lz4': 'application/x-lz4',
  '.zip': 'application/zip',
  '.conda': 'application/zip',
  '.tar': 'application/x-tar',
  '.deb': 'application/vnd.debian.binary-package',
  '.udeb': 'application/vnd.debian.binary-package',
  '.dsc': 'text/plain; charset=utf-8',
  '.asc': 'application/pgp-signature',
  '.sig': 'application/pgp-signature',
  '.gpg': 'application/pgp-keys',
  '.sha256': 'text/plain; charset=utf-8',
  '.sha512': 'text/plain; charset=utf-8',
  '.md5': 'text/plain; charset=utf-8',
};

export interface MirrorServerOptions {
  log?: Logger;
}

/** Starts serving `root` on host:port (port 0 = any free port). */
export async function serveMirror(root: string, host: string, port: number, opts: MirrorServerOptions = {}): Promise<RunningServer> {
  return listenOn(createMirrorServer(root, opts), host, port);
}

export function createMirrorServer(root: string, opts: MirrorServerOptions = {}): Server {
  let realRoot: Promise<string> | undefined;
  return createServer((req, res) => {
    realRoot ??= fs.realpath(root);
    handle(root, realRoot, req, res).catch((err: unknown) => {
      opts.log?.error({ err, url: req.url }, 'serve: request failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
    res.on('finish', () => opts.log?.debug({ method: req.method, url: req.url, status: res.statusCode }, 'serve'));
  });
}

async function handle(root: string, realRootP: Promise<string>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }
  const segments = requestSegments(req.url ?? '/');
  if (!segments) return send(res, 400, 'bad request path\n');
  if (segments[0] === PRIVATE_DIR) return send(res, 404, 'not found\n');

  const trailingSlash = segments.length > 0 && segments[segments.length - 1] === '';
  const parts = trailingSlash ? segments.slice(0, -1) : segments;
  const file = join(root, ...parts);
  let st: Stats;
  try {
    st = await fs.stat(file);
    const real = await fs.realpath(file);
    const realRoot = await realRootP;
    if (real !== realRoot && !real.startsWith(realRoot + sep)) return send(res, 404, 'not found\n');
  } catch {
    return send(res, 404, 'not found\n');
  }
  if (st.isDirectory()) {
    if (!trailingSlash && parts.length > 0) {
      res.setHeader('location', encodePath(parts) + '/');
      return send(res, 301, 'moved\n');
    }
    const index = join(file, 'index.html');
    const indexStat = await fs.stat(index).catch(() => null);
    if (indexStat?.isFile()) return sendFile(req, res, index, indexStat, 'index.html');
    return sendListing(req, res, file, parts);
  }
  if (!st.isFile() || trailingSlash) return send(res, 404, 'not found\n');
  return sendFile(req, res, file, st, parts[parts.length - 1]);
}

/**
 * Splits the URL path into decoded segments, or null when it could name something outside the
 * root or is malformed. A trailing '/' yields a final empty segment; the root is [].
 */
function requestSegments(rawUrl: string): string[] | null {
  const pathPart = rawUrl.split('?')[0].split('#')[0];
  if (!pathPart.startsWith('/')) return null;
  const raw = pathPart.slice(1);
  if (raw === '') return [];
  const segments: string[] = [];
  const rawSegments = raw.split('/');
  for (let i = 0; i < rawSegments.length; i++) {
    let seg: string;
    try {
      seg = decodeURIComponent(rawSegments[i]);
    } catch {
      return null;
    }
    const last = i === rawSegments.length - 1;
    if (seg === '' && !last) return null;
    if (seg === '.' || seg === '..' || seg.includes('/') || seg.includes('\\') || seg.includes('\0')) return null;
    segments.push(seg);
  }
  return segments;
}

function encodePath(parts: string[]): string {
  return '/' + parts.map(encodeURIComponent).join('/');
}

function etagOf(st: Stats): string {
  return `"${st.size.toString(16)}-${Math.floor(st.mtimeMs * 1000).toString(16)}-${st.ino.toString(16)}"`;
}

function notModified(req: IncomingMessage, etag: string, mtimeMs: number): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    return inm.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
  }
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    const since = Date.parse(ims);
    if (!Number.isNaN(since)) return Math.floor(mtimeMs / 1000) * 1000 <= since;
  }
  return false;
}

/** A single satisfiable range, 'unsatisfiable', or null to send the whole body. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = header.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === '' && m[2] === '')) return null; // multiple or malformed ranges: full body
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

function ifRangeMatches(req: IncomingMessage, etag: string, lastModified: string): boolean {
  const ifRange = req.headers['if-range'] as string | undefined;
  if (ifRange === undefined) return true;
  return ifRange.trim() === etag || ifRange.trim() === lastModified;
}

async function contentType(file: string, name: string, size: number): Promise<string> {
  const known = CONTENT_TYPES[extname(name).toLowerCase()];
  if (known) return known;
  if (extname(name) !== '' || size === 0) return 'application/octet-stream';
  // Extensionless files in mirrors are mostly text (Release, sparse index entries): sniff.
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 1024));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const sample = head.subarray(0, bytesRead);
    return sample.includes(0) ? 'application/octet-stream' : 'text/plain; charset=utf-8';
  } finally {
    await fh.close();
  }
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, st: Stats, name: string): Promise<void> {
  const etag = etagOf(st);
  const lastModified = st.mtime.toUTCString();
  res.setHeader('etag', etag);
  res.setHeader('last-modified', lastModified);
  res.setHeader('accept-ranges', 'bytes');
  if (notModified(req, etag, st.mtimeMs)) {
    res.writeHead(304).end();
    return;
  }
  res.setHeader('content-type', await contentType(file, name, st.size));
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const range = ifRangeMatches(req, etag, lastModified) ? parseRange(req.headers.range, st.size) : null;
  if (range === 'unsatisfiable') {
    res.setHeader('content-range', `bytes */${st.size}`);
    return send(res, 416, 'range not satisfiable\n');
  }
  if (range) {
    ({ start, end } = range);
    status = 206;
    res.setHeader('content-range', `bytes ${start}-${end}/${st.size}`);
  }
  res.setHeader('content-length', String(end - start + 1));
  res.writeHead(status);
  if (req.method === 'HEAD' || st.size === 0) {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(file, { start, end });
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

async function sendListing(req: IncomingMessage, res: ServerResponse, dir: string, parts: string[]): Promise<void> {
  const entries = (await fs.readdir(dir, { withFileTypes: true }))
    .filter((e) => !(parts.length === 0 && e.name === PRIVATE_DIR))
    .map((e) => (e.isDirectory() ? e.name + '/' : e.name))
    .sort();
  const title = escapeHtml(encodePath(parts) + (parts.length ? '/' : ''));
  const rows = (parts.length ? ['../'] : []).concat(entries).map((name) => {
    const href = name === '../' ? '../' : encodeURIComponent(name.replace(/\/$/, '')) + (name.endsWith('/') ? '/' : '');
    return `<li><a href="${href}">${escapeHtml(name)}</a></li>`;
  });
  const body = `<!doctype html>\n<html><head><meta charset="utf-8"><title>Index of ${title}</title></head>\n<body><h1>Index of ${title}</h1>\n<ul>\n${rows.join('\n')}\n</ul></body></html>\n`;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('content-length', String(Buffer.byteLength(body)));
  res.writeHead(200);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function send(res: ServerResponse, status: number, body: string): void {
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('content-length', String(Buffer.byteLength(body)));
  res.writeHead(status);
  res.end(body);
}
