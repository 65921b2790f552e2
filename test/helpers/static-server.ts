// A static file server on 127.0.0.1 for tests: serves a directory as an upstream or a mirror,
// with ETag / Last-Modified / 304, and logs every request path so tests can assert on traffic.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface StaticServer {
  url: string;
  port: number;
  /** Paths requested so far (decoded, with query), in order. */
  requests: string[];
  close(): Promise<void>;
}

export type RequestHook = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/**
 * Serves `root`. `hook` may answer a request itself (return true) to inject faults. `port`: a
 * fixed port (e.g. to bring a stopped upstream back at the same URL); default any free one.
 */
export async function serveDir(root: string, hook?: RequestHook, port = 0): Promise<StaticServer> {
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const rawPath = decodeURIComponent((req.url ?? '/').split('?')[0]);
    requests.push(rawPath);
    if (hook && (await hook(req, res))) return;
    const rel = normalize(rawPath).replace(/^([/\\])+/, '');
    const file = join(root, rel);
    if (!file.startsWith(root + sep) && file !== root) {
      res.writeHead(403).end();
      return;
    }
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) throw new Error('not a file');
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const lastModified = st.mtime.toUTCString();
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag, 'last-modified': lastModified }).end();
        return;
      }
      res.writeHead(200, { 'content-length': st.size, etag, 'last-modified': lastModified });
      if (req.method === 'HEAD') return void res.end();
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
