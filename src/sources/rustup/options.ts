// Command-line options of `mirror sync rustup` and their one check.
//
// Contract: `RUSTUP_OPTIONS` declares the flags; `readRustupOptions` turns the raw values into
// RustupOptions or throws RustupOptionError (a UsageError: exit 2, nothing touched) with a
// one-line message naming the flag.
import { UsageError } from '../../errors.js';
import { parsePin, type Pin } from './discovery.js';
import { DATE } from './manifest.js';
import { CHANNELS, TARGET_ALIASES, targetFilter, type Channel, type Format } from './selection.js';

export class RustupOptionError extends UsageError {}

export const DEFAULT_KEEP = { nightly: 7, beta: 7, stable: 'all' } as const;

export interface RustupOptions {
  channels: Set<Channel>;
  targets: string[];
  acceptsTarget: (target: string) => boolean;
  components: string[];
  excludeComponents: string[];
  format: Format;
  keep: Record<Channel, number | 'all'>;
  pins: Pin[];
  since: string | null;
  rustupInit: boolean;
  keyring: string | null;
}

function list(values: Readonly<Record<string, unknown>>, flag: string): string[] {
  const v = values[flag];
  if (v === undefined || v === null || v === false) return [];
  return [...new Set((Array.isArray(v) ? v : [v]).map(String).filter((s) => s !== ''))];
}

function single(values: Readonly<Record<string, unknown>>, flag: string): string | null {
  const v = values[flag];
  if (v === undefined || v === null || v === '') return null;
  if (Array.isArray(v)) {
    if (v.length > 1) throw new RustupOptionError(`--${flag} may be given only once`);
    return v.length ? String(v[0]) : null;
  }
  return String(v);
}

function keepCount(values: Readonly<Record<string, unknown>>, flag: string, fallback: number | 'all'): number | 'all' {
  const v = single(values, flag);
  if (v === null) return fallback;
  if (v === 'all') return 'all';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new RustupOptionError(`--${flag} '${v}' must be a whole number (0 or more) or 'all'`);
  return n;
}

export function readRustupOptions(values: Readonly<Record<string, unknown>>): RustupOptions {
  const channelList = list(values, 'channel');
  for (const c of channelList) {
    if (!CHANNELS.includes(c as Channel)) throw new RustupOptionError(`--channel '${c}' is not one of ${CHANNELS.join(', ')}`);
  }
  const targets = list(values, 'target');
  if (targets.length === 0) {
    throw new RustupOptionError(`--target is required: a triple (e.g. x86_64-unknown-linux-gnu) or one of ${TARGET_ALIASES.join(', ')}; repeatable`);
  }
  let acceptsTarget: (target: string) => boolean;
  try {
    acceptsTarget = targetFilter(targets);
  } catch (err) {
    throw new RustupOptionError(`--target ${(err as Error).message}`);
  }
  const components = list(values, 'component');
  const excludeComponents = list(values, 'exclude-component');
  for (const [flag, names] of [['component', components], ['exclude-component', excludeComponents]] as const) {
    for (const n of names) if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(n)) throw new RustupOptionError(`--${flag} '${n}' is not a package name`);
  }
  const format = single(values, 'format') ?? 'xz';
  if (format !== 'xz' && format !== 'gz' && format !== 'both') throw new RustupOptionError(`--format '${format}' is not one of xz, gz, both`);
  const pins = list(values, 'pin').map((p) => {
    const pin = parsePin(p);
    if (!pin) throw new RustupOptionError(`--pin '${p}' is neither a date (YYYY-MM-DD) nor a stable version (X.Y.Z)`);
    return pin;
  });
  const since = single(values, 'since');
  if (since !== null && !DATE.test(since)) throw new RustupOptionError(`--since '${since}' is not a date (YYYY-MM-DD)`);
  return {
    channels: new Set((channelList.length ? channelList : ['stable']) as Channel[]),
    targets,
    acceptsTarget,
    components,
    excludeComponents,
    format,
    keep: {
      nightly: keepCount(values, 'keep-nightly', DEFAULT_KEEP.nightly),
      beta: keepCount(values, 'keep-beta', DEFAULT_KEEP.beta),
      stable: keepCount(values, 'keep-stable', DEFAULT_KEEP.stable),
    },
    pins,
    since,
    rustupInit: values['rustup-init'] === true,
    keyring: single(values, 'keyring'),
  };
}
