// One builder for what a command runs with, whether the values come from flags or from a
// mirror.toml: each flag takes the command line's value when it was given there (the parser
// returns given flags only, see flags.ts), else the config file's (a job's key, then
// [defaults]; or the top of the file), else its default from flags.ts. Every value is checked
// here, once, with the flag named in the message.
import { UsageError } from '../errors.js';
import { parseMaxDelete, type MaxDelete } from '../engine/collect.js';
import type { NetworkOptions } from '../engine/network.js';
import type { MetricsOutput } from '../features/sync-jobs/jobs.js';
import { commandSpec, GLOBAL_FLAGS, parserKey, type FlagSpec } from './flags.js';
import { parseSize } from './units.js';

/** What the parser returned: given flags only, keyed as cac keys them (camelCase). */
export type ParsedFlags = Readonly<Record<string, unknown>>;
/** Flag values by flag name ('max-delete'), as a config file spells them. */
export type FlagValues = Readonly<Record<string, unknown>>;

/**
 * The value of every flag of `command` (and the global ones): given on the command line, else
 * from the config file, else the default. A flag given twice is an error (a boolean takes the
 * last: `--http1 --no-http1` is HTTP/2). Absent when none of the three has one.
 */
export function resolveFlags(command: string, parsed: ParsedFlags, fromFile: FlagValues = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of [...GLOBAL_FLAGS, ...commandSpec(command).flags]) {
    const given = parsed[parserKey(spec.name)];
    const value = given !== undefined ? once(spec, given) : (fromFile[spec.name] ?? spec.default);
    if (value !== undefined) out[spec.name] = value;
  }
  return out;
}

function once(spec: FlagSpec, value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  if (spec.type === 'boolean') return value[value.length - 1];
  throw new UsageError(`--${spec.name} may be given only once`);
}

export function parseConcurrency(value: unknown): number | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new UsageError(`--concurrency takes auto or a whole number from 1 to 4096, not '${String(value)}'`);
  return n;
}

export function parseRate(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const m = String(value).trim().match(/^(\d+(?:\.\d+)?)([KMG]?)(?:i?B)?$/i);
  if (!m) throw new UsageError(`--rate-limit takes bytes per second like 500K, 50M or 1G, not '${String(value)}'`);
  const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * scale);
}

function parseManifestMaxSize(value: unknown): number {
  const n = /^\d+$/.test(String(value)) ? Number(value) : parseSize(String(value));
  if (!n || n < 1) throw new UsageError(`--manifest-max-size takes a size like 256M, not '${String(value)}'`);
  return n;
}

/** The flags that shape downloads (sync, plan, verify --repair). */
export function networkOptions(flags: FlagValues): NetworkOptions {
  return {
    concurrency: parseConcurrency(flags.concurrency),
    contact: flags.contact === undefined ? undefined : String(flags.contact),
    rateLimit: parseRate(flags['rate-limit']),
    http1: flags.http1 === true,
    redirectHosts: parseRedirectHosts(flags['redirect-hosts']),
  };
}

function parseRedirectHosts(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const hosts = String(value).split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  const bad = hosts.find((h) => !/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(h));
  if (bad !== undefined || hosts.length === 0) {
    throw new UsageError(`--redirect-hosts takes host names like cdn.example.org, host:port or *.example.org, comma-separated, not '${bad ?? String(value)}'`);
  }
  return hosts;
}

export interface JobRunOptions extends NetworkOptions {
  statePath?: string;
  maxDelete: MaxDelete;
  force: boolean;
  manifestMaxSize: number;
}

/** What one sync job runs with, from the resolved flags of `sync`. */
export function jobRunOptions(flags: FlagValues): JobRunOptions {
  return {
    ...networkOptions(flags),
    statePath: flags.state === undefined ? undefined : String(flags.state),
    maxDelete: parseMaxDelete(flags['max-delete'] as string | number),
    force: flags.force === true,
    manifestMaxSize: parseManifestMaxSize(flags['manifest-max-size']),
  };
}

/** Where metrics go (--listen, --linger, --metrics-file), from the resolved flags of `sync`. */
export function metricsOutput(flags: FlagValues): MetricsOutput {
  const linger = flags.linger === undefined ? undefined : Number(flags.linger);
  if (linger !== undefined && !(Number.isFinite(linger) && linger >= 0)) throw new UsageError(`--linger takes seconds, not '${String(flags.linger)}'`);
  if (linger && flags.listen === undefined) throw new UsageError('--linger needs --listen');
  return {
    listen: flags.listen === undefined ? undefined : String(flags.listen),
    linger,
    metricsFile: flags['metrics-file'] === undefined ? undefined : String(flags['metrics-file']),
  };
}
