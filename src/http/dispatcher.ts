// Connection management: one undici Agent for the whole run, with a keep-alive Pool per origin.
// - TLS origins offer HTTP/2 (ALPN) unless `http2` is off. undici's `pipelining` also caps
//   concurrent streams on an HTTP/2 connection, but on an HTTP/1.1 connection it means real
//   pipelining, which we do not want; so each client starts at 1 and is raised to `h2Streams`
//   once ALPN says h2.
// - Timeouts: connect, response headers, and body idle (time between two body chunks, so a
//   slow-but-moving body survives and a stalled one does not).
// - Proxies: when HTTP_PROXY / HTTPS_PROXY (either case) are set, undici's EnvHttpProxyAgent
//   routes requests (honouring NO_PROXY) over HTTP/1.1 through the proxy.

import { Agent, Client, EnvHttpProxyAgent, Pool, type Dispatcher } from 'undici';

export interface DispatcherOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Concurrent streams per HTTP/2 connection. */
  h2Streams: number;
  /** Offer HTTP/2 to TLS origins. */
  http2: boolean;
  /** Extra CA certificate(s) (PEM) trusted besides the system store / NODE_EXTRA_CA_CERTS. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Environment to read proxy variables from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function proxyFromEnv(env: NodeJS.ProcessEnv): { httpProxy?: string; httpsProxy?: string; noProxy?: string } | null {
  const httpProxy = env.http_proxy || env.HTTP_PROXY || undefined;
  const httpsProxy = env.https_proxy || env.HTTPS_PROXY || undefined;
  if (!httpProxy && !httpsProxy) return null;
  return { httpProxy, httpsProxy, noProxy: env.no_proxy ?? env.NO_PROXY ?? '' };
}

export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const common = {
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
  };
  const tls = opts.ca ? { ca: opts.ca } : undefined;
  const proxy = proxyFromEnv(opts.env ?? process.env);
  if (proxy) {
    return new EnvHttpProxyAgent({
      ...common,
      ...proxy,
      connect: { timeout: opts.connectTimeoutMs, ...tls },
      requestTls: tls,
      proxyTls: tls,
    });
  }
  return new Agent({
    ...common,
    factory: (origin, poolOpts) =>
      new Pool(origin, {
        ...poolOpts,
        allowH2: opts.http2 && String(origin).startsWith('https:'),
        connectTimeout: opts.connectTimeoutMs,
        connect: tls,
        factory: (o, clientOpts) => {
          let negotiatedH2 = false;
          const baseConnect = (clientOpts as { connect: unknown }).connect as (options: unknown, cb: (err: Error | null, socket: unknown) => void) => void;
          const client = new Client(o, {
            ...clientOpts,
            pipelining: 1,
            connect: ((options: unknown, cb: (err: Error | null, socket: unknown) => void) =>
              baseConnect(options, (err, socket) => {
                negotiatedH2 = !err && (socket as { alpnProtocol?: string }).alpnProtocol === 'h2';
                cb(err, socket);
              })) as never,
          });
          client.on('connect', () => {
            client.pipelining = negotiatedH2 ? opts.h2Streams : 1;
          });
          return client;
        },
      }),
  });
}
