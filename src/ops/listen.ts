// Parses a `--listen` address ("HOST:PORT", "[V6]:PORT", ":PORT" or "PORT") for the metrics
// endpoint and `mirror serve`. A bare port binds to loopback: exposing a server is explicit.
import { UsageError } from '../errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(value: string, flag = '--listen'): ListenAddress {
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):)?(\d{1,5})$/.exec(value.trim());
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
