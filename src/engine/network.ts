// How a command talks to upstream: the global flags that shape the managed downloader
// (--concurrency, --contact, --rate-limit, --http1, --redirect-hosts), taken alike by sync, plan and
// verify --repair, and the one place that turns them into a Downloader.
import type { Logger } from 'pino';
import { Downloader, type RequestEvent } from '../http/downloader.js';
import { VERSION } from '../version.js';

export interface NetworkOptions {
  concurrency: number | 'auto';
  /** URL or e-mail added to the User-Agent (some registries refuse anonymous clients). */
  contact?: string;
  /** Bandwidth cap for all downloads together, bytes/s. */
  rateLimit?: number;
  /** HTTP/1.1 only, over TLS too: no HTTP/2 (cheaper per file where latency is low). */
  http1?: boolean;
  /** Hosts a redirect may lead to besides the requested one (--redirect-hosts; default any). */
  redirectHosts?: string[];
}

export function userAgent(contact?: string): string {
  return `mirror/${VERSION}${contact ? ` (+${contact})` : ''}`;
}

export function newDownloader(
  net: NetworkOptions,
  run: { log: Logger; signal?: AbortSignal; onRequest?: (event: RequestEvent) => void },
): Downloader {
  return new Downloader({
    concurrency: net.concurrency,
    userAgent: userAgent(net.contact),
    rateLimitBytesPerSec: net.rateLimit,
    http2: !net.http1,
    redirectHosts: net.redirectHosts,
    ...run,
  });
}
