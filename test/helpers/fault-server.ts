// A fault-injecting HTTP server on 127.0.0.1 for downloader tests (HTTP/1.1, or HTTP/2 over TLS
// with HTTP/1.1 fallback). Deterministic: file contents come from a seeded PRNG, and the fault
// served to the n-th request for a path is fixed by a script (`script[path][n]`) or, in chaos
// mode, by a hash of (seed, path, n) — never by timing or request interleaving.
// It serves strong ETags, Last-Modified, If-None-Match (304), Range + If-Range (206), and logs
// every request (time, headers of interest, status, fault) so tests can assert retries/backoff.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'ok' }
  /** Answer with this status (and an optional Retry-After value) and a short body. */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Send headers and `afterBytes` of the body, then reset the connection (RST: unread bytes may be lost). */
  | { kind: 'reset'; afterBytes?: number }
  /** Send headers and `afterBytes` of the body, then close the connection cleanly (FIN). */
  | { kind: 'close'; afterBytes?: number }
  /** Send `afterBytes` of the body with no Content-Length, then end cleanly. */
  | { kind: 'truncate'; afterBytes?: number }
  /** Flip one byte of the body (at `at`, default the middle). */
  | { kind: 'flip'; at?: number }
  /** Send the body in `chunkBytes` pieces every `intervalMs`. */
  | { kind: 'trickle'; chunkBytes: number; intervalMs: number }
  /** Send headers and `afterBytes` of the body, then nothing (until the client gives up). */
  | { kind: 'stall'; afterBytes?: number }
  /** Never answer at all. */
  | { kind: 'stall-headers' }
  /** Redirect (default 302) to `to` (absolute or relative). */
  | { kind: 'redirect'; to: string; status?: number }
  /** Announce Content-Length = real size + delta (HTTP/1.1 only), then send the real body. */
  | { kind: 'lie-length'; delta: number }
  /** Serve the body gzip-compressed with Content-Encoding: gzip. */
  | { kind: 'gzip' }
  /** Label the stored bytes "Content-Encoding: gzip" without compressing them (a .gz file). */
  | { kind: 'label-gzip' };

export interface RequestLogEntry {
  path: string;
  /** 0-based index of this request among requests for the same path. */
  n: number;
  /** ms since the server started. */
  at: number;
  fault: Fault['kind'];
  status: number;
  range?: string;
  ifRange?: string;
  userAgent?: string;
  httpVersion: string;
}

export interface FaultServerOptions {
  /** Path -> body. Use `seededBytes` to make deterministic content. */
  files: Record<string, Buffer>;
  /** Path -> faults for the 1st, 2nd... request of that path (then 'ok'). */
  script?: Record<string, Fault[]>;
  /** Random faults: each request faults with probability `rate`, kind picked from `faults`. */
  chaos?: { seed: number; rate: number; faults: Fault[] };
  /** Serve HTTP/2 over TLS (with HTTP/1.1 fallback) using this key/cert. */
  tls?: { key: string; cert: string };
  /** Serve Range requests (default true). */
  ranges?: boolean;
}

export interface FaultServer {
  url: string;
  log: RequestLogEntry[];
  /** Log entries for one path, in order. */
  requestsFor(path: string): RequestLogEntry[];
  /** Most requests ever open at once, and TCP/TLS connections accepted. */
  stats(): { maxInFlight: number; connections: number };
  close(): Promise<void>;
}

const LAST_MODIFIED = new Date(Date.UTC(2024, 0, 2, 3, 4, 5)).toUTCString();

/** Deterministic pseudo-random bytes for (seed, name). */
export function seededBytes(seed: number, name: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let state = hash32(`${seed}:${name}`);
  for (let i = 0; i < size; i += 4) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const v = (t ^ (t >>> 14)) >>> 0;
    for (let j = 0; j < 4 && i + j < size; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
  }
  return out;
}

function hash32(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32LE(0);
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** A self-signed certificate for 127.0.0.1 made with the openssl CLI. */
export function makeSelfSignedCert(dir: string): { key: string; cert: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

export async function startFaultServer(opts: FaultServerOptions): Promise<FaultServer> {
  const started = performance.now();
  const log: RequestLogEntry[] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let maxInFlight = 0;
  let connections = 0;
  const etags = new Map(Object.entries(opts.files).map(([p, b]) => [p, `"${sha256(b).slice(0, 16)}"`]));

  const faultFor = (path: string, n: number): Fault => {
    const scripted = opts.script?.[path]?.[n];
    if (scripted) return scripted;
    if (opts.chaos && opts.chaos.faults.length > 0) {
      const h = hash32(`${opts.chaos.seed}:${path}:${n}`);
      if ((h % 10_000) / 10_000 < opts.chaos.rate) return opts.chaos.faults[(h >>> 16) % opts.chaos.faults.length];
    }
    return { kind: 'ok' };
  };

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => (timers.delete(t), fn()), ms);
    timers.add(t);
  };

  const handler = (req: Req, anyRes: Res) => {
    // The HTTP/2 compatibility response has the same write/end/writeHead shape.
    const res = anyRes as ServerResponse;
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let finished = false;
    const done = () => {
      if (!finished) (finished = true), inFlight--;
    };
    res.on('finish', done);
    res.on('close', done);
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    const fault = faultFor(path, n);
    const entry: RequestLogEntry = {
      path,
      n,
      at: performance.now() - started,
      fault: fault.kind,
      status: 0,
      range: header(req, 'range'),
      ifRange: header(req, 'if-range'),
      userAgent: header(req, 'user-agent'),
      httpVersion: req.httpVersion,
    };
    log.push(entry);
    const send = (status: number, headers: Record<string, string | number>, body?: Buffer) => {
      entry.status = status;
      res.writeHead(status, headers);
      if (body) res.end(body);
      else res.end();
    };

    if (fault.kind === 'stall-headers') return;
    if (fault.kind === 'status') {
      const h: Record<string, string> = { 'content-type': 'text/plain' };
      if (fault.retryAfter !== undefined) h['retry-after'] = fault.retryAfter;
      return send(fault.status, h, Buffer.from(`injected ${fault.status}\n`));
    }
    if (fault.kind === 'redirect') return send(fault.status ?? 302, { location: fault.to });

    const file = opts.files[path];
    if (!file) return send(404, { 'content-type': 'text/plain' }, Buffer.from('not found\n'));
    const etag = etags.get(path)!;
    const validators = { etag, 'last-modified': LAST_MODIFIED };
    if (header(req, 'if-none-match') === etag) return send(304, validators);

    let body = file;
    let status = 200;
    const headers: Record<string, string | number> = { ...validators, 'accept-ranges': opts.ranges === false ? 'none' : 'bytes' };
    const range = entry.range ? /^bytes=(\d+)-$/.exec(entry.range) : null;
    const ifRange = entry.ifRange;
    if (range && opts.ranges !== false && (!ifRange || ifRange === etag || ifRange === LAST_MODIFIED)) {
      const start = Number(range[1]);
      if (start >= file.length) return send(416, { 'content-range': `bytes */${file.length}` });
      body = file.subarray(start);
      status = 206;
      headers['content-range'] = `bytes ${start}-${file.length - 1}/${file.length}`;
    }
    if (fault.kind === 'flip') {
      body = Buffer.from(body);
      const at = Math.min(fault.at ?? Math.floor(body.length / 2), body.length - 1);
      if (at >= 0) body[at] ^= 0xff;
    }
    if (fault.kind === 'gzip') {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    if (fault.kind === 'label-gzip') headers['content-encoding'] = 'gzip';
    entry.status = status;

    switch (fault.kind) {
      case 'reset': {
        res.writeHead(status, { ...headers, 'content-length': body.length });
        res.write(body.subarray(0, fault.afterBytes ?? Math.floor(body.length / 2)), () => later(10, () => destroy(req, anyRes)));
        return;
      }
      case 'close': {
        res.writeHead(status, { ...headers, 'content-length': body.length });
        res.write(body.subarray(0, fault.afterBytes ?? Math.floor(body.length / 2)), () => later(10, () => closeConnection(req, anyRes)));
        return;
      }
      case 'truncate': {
        const h = { ...headers };
        res.writeHead(status, h);
        res.end(body.subarray(0, fault.afterBytes ?? Math.floor(body.length / 2)));
        return;
      }
      case 'stall': {
        res.writeHead(status, { ...headers, 'content-length': body.length });
        res.write(body.subarray(0, fault.afterBytes ?? Math.floor(body.length / 2)));
        return; // the client's body timeout ends it; close() cleans up
      }
      case 'trickle': {
        res.writeHead(status, { ...headers, 'content-length': body.length });
        let pos = 0;
        const step = () => {
          if (res.destroyed) return;
          const piece = body.subarray(pos, pos + fault.chunkBytes);
          pos += piece.length;
          if (pos >= body.length) res.end(piece);
          else res.write(piece, () => later(fault.intervalMs, step));
        };
        step();
        return;
      }
      case 'lie-length': {
        const socket = (req as IncomingMessage).socket;
        const lines = [`HTTP/1.1 ${status} X`, `content-length: ${body.length + fault.delta}`, 'connection: close'];
        for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
        socket.write(lines.join('\r\n') + '\r\n\r\n');
        socket.write(body, () => later(10, () => socket.destroy()));
        return;
      }
      default:
        res.writeHead(status, { ...headers, 'content-length': body.length });
        res.end(body);
    }
  };

  const server = opts.tls
    ? createSecureServer({ key: opts.tls.key, cert: opts.tls.cert, allowHTTP1: true }, handler)
    : createHttpServer(handler);
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    log,
    requestsFor: (p) => log.filter((e) => e.path === p),
    stats: () => ({ maxInFlight, connections }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function header(req: Req, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function closeConnection(req: Req, res: Res): void {
  if ('stream' in res && res.stream) res.stream.close(0 /* NGHTTP2_NO_ERROR */);
  else (req as IncomingMessage).socket.end();
}

function destroy(req: Req, res: Res): void {
  if ('stream' in res && res.stream) res.stream.close(2 /* NGHTTP2_INTERNAL_ERROR */);
  else (req as IncomingMessage).socket.destroy();
}
