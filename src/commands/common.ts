// What every command shares: the global flags, the logger they select, the parsing of flag
// values (sizes, counts), interrupt handling, and turning errors into a one-line message and
// an exit code (2 for bad input, 1 otherwise).
import type { CAC } from 'cac';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_USAGE, InterruptedError, UsageError } from '../errors.js';
import type { NetworkOptions } from '../engine/network.js';
import { redactCredentials } from '../util/redact.js';

export interface GlobalFlags {
  logFormat?: string;
  logLevel?: string;
  progress?: boolean;
  concurrency?: string | number;
  state?: string;
  contact?: string;
  rateLimit?: string | number;
  http1?: boolean;
  redirectHosts?: string;
}

export function registerGlobalFlags(cli: CAC): void {
  cli
    .option('--log-format <format>', 'Log format: text or json', { default: 'text' })
    .option('--log-level <level>', 'Log level: error, warn, info, debug', { default: 'info' })
    .option('--state <path>', 'State DB path (default: <dest>/.mirror/state.db)')
    .option('--concurrency <n>', 'Parallel downloads: a number, or auto', { default: 'auto' })
    .option('--rate-limit <rate>', 'Bandwidth cap in bytes/s, with K/M/G suffixes (50M)')
    .option('--contact <text>', 'Contact (URL or e-mail) added to the User-Agent')
    .option('--http1', 'HTTP/1.1 only, over TLS too (no HTTP/2): less CPU per file on a LAN')
    .option('--redirect-hosts <hosts>', 'Follow redirects to other hosts only to these (comma-separated; *.example.org for subdomains)')
    .option('--progress', 'Show progress (default: on)', { default: true });
}

/**
 * For the commands that download (sync, plan, verify, demo), whose only WebAssembly is undici's
 * HTTP parser (llhttp): V8 compiles it with its baseline compiler, then recompiles it with its
 * optimizing one on a background thread, and the process waits for that at exit (~0.1 s of CPU
 * on every short run); header parsing never bounds a run. Not for `inventory`: its BLAKE3 and
 * xxHash are WebAssembly too, and ~6x slower as baseline code.
 */
export async function keepBaselineWasm(): Promise<void> {
  (await import('node:v8')).setFlagsFromString('--liftoff-only');
}

export async function makeLogger(flags: GlobalFlags): Promise<Logger> {
  const { createLogger } = await import('../log.js');
  return createLogger(flags.logFormat, flags.logLevel);
}

export function parseConcurrency(value: string | number | undefined): number | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new UsageError(`--concurrency takes auto or a whole number from 1 to 4096, not '${value}'`);
  return n;
}

/** The global flags that shape downloads (sync, plan, verify --repair). */
export function networkFlags(flags: GlobalFlags): NetworkOptions {
  return {
    concurrency: parseConcurrency(flags.concurrency),
    contact: flags.contact,
    rateLimit: parseRate(flags.rateLimit),
    http1: flags.http1 === true,
    redirectHosts: parseRedirectHosts(flags.redirectHosts),
  };
}

function parseRedirectHosts(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const hosts = String(value).split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  const bad = hosts.find((h) => !/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(h));
  if (bad !== undefined || hosts.length === 0) {
    throw new UsageError(`--redirect-hosts takes host names like cdn.example.org, host:port or *.example.org, comma-separated, not '${bad ?? value}'`);
  }
  return hosts;
}

export function parseRate(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([KMG]?)(?:i?B)?$/i.exec(String(value).trim());
  if (!m) throw new UsageError(`--rate-limit takes bytes per second like 500K, 50M or 1G, not '${value}'`);
  const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * scale);
}

/** An AbortSignal fired by the first SIGINT/SIGTERM; a second one exits at once. */
export function interruptSignal(log?: Logger): AbortSignal {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    log?.warn(`${name}: stopping; in-flight files are abandoned (press Ctrl-C again to quit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

/** Runs a command body and exits with its code; errors become one line on stderr. */
export function runCommand(body: () => Promise<number>): void {
  // Nothing left to wait for while the command has not finished is a bug: never a silent exit 0.
  const stalled = () => {
    process.stderr.write('mirror: internal error: the command stopped before it finished\n');
    process.exitCode = EXIT_FAILURES;
  };
  process.once('beforeExit', stalled);
  body().finally(() => process.off('beforeExit', stalled)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const e = err as Error;
      if (err instanceof InterruptedError) {
        process.exitCode = EXIT_INTERRUPTED;
        return;
      }
      process.stderr.write(`mirror: ${redactCredentials(e.message ?? String(err))}\n`);
      if (!(err instanceof UsageError) && process.env.MIRROR_DEBUG) process.stderr.write(`${e.stack}\n`);
      process.exitCode = err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURES;
    },
  );
}

export function toKebab(flag: string): string {
  return flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function toCamel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The absolute path of `dir`, which must be an existing directory (else a usage error). */
export async function requireDirectory(dir: string): Promise<string> {
  const { stat } = await import('node:fs/promises');
  const { resolve } = await import('node:path');
  const root = resolve(dir);
  if (!(await stat(root).catch(() => null))?.isDirectory()) throw new UsageError(`${dir} is not a directory`);
  return root;
}
