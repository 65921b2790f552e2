// Parses a `--listen` address ("HOST:PORT", "[V6]:PORT", ":PORT" or "PORT") for the metrics
// endpoint and `mirror serve`, and binds their servers. A bare port binds to loopback:
// exposing a server is explicit.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(value: string, flag = '--listen'): ListenAddress {
  const m = value.trim().match(/^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):)?(\d{1,5})$/);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag} must be HOST:PORT (e.g. 127.0.0.1:9090), not '${value}'`);
  const host = m[1] ?? (m[2] ? m[2] : '127.0.0.1');
  return { host, port };
}

/** The URL a client uses to reach a server bound to host:port. */
export function listenUrl(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return `http://${h}:${port}`;
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Binds `server` to host:port (port 0 = any free port) and resolves once it listens. */
export async function listenOn(server: Server, host: string, port: number): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    url: listenUrl(host, addr.port),
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
