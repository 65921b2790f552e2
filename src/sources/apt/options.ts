// Command-line options of `mirror sync apt` and their validation.
//
// Contract: `APT_OPTIONS` declares the flags; `readOptions` turns ctx.options into a checked
// AptOptions or throws AptOptionError with a one-line message naming the flag. `optionsKey`
// fingerprints every option that shapes the mirror's content, so the cursor's fast path
// ("InRelease unchanged, nothing to do") only applies when the same selection produced it.
import { createHash } from 'node:crypto';
import type { SourceOptionSpec } from '../types.js';
import { UsageError } from '../../errors.js';
import { isSafeRelPath } from './paths.js';

/** Bad command-line input: the CLI exits 2 and nothing is done. */
export class AptOptionError extends UsageError {}

export const APT_OPTIONS: SourceOptionSpec[] = [
  { flag: 'suite', type: 'string[]', description: 'suite (dists/<suite>) to mirror; repeatable, at least one' },
  { flag: 'component', type: 'string[]', description: 'component to mirror (default: main); repeatable' },
  { flag: 'arch', type: 'string[]', description: 'binary architecture (e.g. amd64, all); repeatable, at least one' },
  { flag: 'sources', type: 'boolean', description: 'also mirror source packages (Sources + .dsc/.tar.*)' },
  { flag: 'translation', type: 'string[]', description: 'also mirror i18n/Translation-<lang> (e.g. en); repeatable' },
  { flag: 'contents', type: 'boolean', description: 'also mirror Contents-<arch> indexes' },
  { flag: 'keyring', type: 'string', description: 'OpenPGP keyring (binary or armored) that must have signed the Release' },
  { flag: 'no-verify-signature', type: 'boolean', description: 'DANGEROUS: mirror without checking the Release signature' },
  { flag: 'by-hash-keep', type: 'number', default: 3, description: 'previous generations of by-hash index files to keep (default 3)' },
  { flag: 'include', type: 'string[]', description: 'keep only packages whose name matches this regex; repeatable' },
  { flag: 'exclude', type: 'string[]', description: 'drop packages whose name matches this regex; repeatable' },
  { flag: 'exclude-section', type: 'string[]', description: "drop packages of this section ('debug' or 'non-free/debug'); repeatable" },
  { flag: 'priority', type: 'string[]', description: 'keep only binary packages of this priority; repeatable' },
  { flag: 'sign-key', type: 'string', description: 'gpg key (from your GNUPGHOME) that re-signs a filtered Release' },
];

export interface AptOptions {
  suites: string[];
  components: string[];
  arches: string[];
  sources: boolean;
  translations: string[];
  contents: boolean;
  keyring: string | null;
  verifySignature: boolean;
  byHashKeep: number;
  include: string[];
  exclude: string[];
  excludeSections: string[];
  priorities: string[];
  signKey: string | null;
}

function list(options: Record<string, unknown>, flag: string): string[] {
  const v = options[flag];
  if (v === undefined || v === null || v === false) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => {
    if (typeof x !== 'string' && typeof x !== 'number') throw new AptOptionError(`--${flag} needs a value`);
    return String(x);
  });
}

function word(flag: string, value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+~-]*$/.test(value)) throw new AptOptionError(`--${flag} '${value}' is not a valid name`);
  return value;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function readOptions(options: Record<string, unknown>): AptOptions {
  const suites = unique(list(options, 'suite'));
  if (suites.length === 0) throw new AptOptionError('--suite is required (e.g. --suite bookworm)');
  for (const s of suites) {
    // Suites may contain '/' (old "buster/updates"), never '..' or empty segments.
    if (!isSafeRelPath(s) || !s.split('/').every((seg) => /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/.test(seg))) {
      throw new AptOptionError(`--suite '${s}' is not a valid suite name`);
    }
  }
  const components = unique(list(options, 'component')).map((c) => {
    if (!isSafeRelPath(c) || !c.split('/').every((seg) => /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/.test(seg))) {
      throw new AptOptionError(`--component '${c}' is not a valid component name`);
    }
    return c;
  });
  const arches = unique(list(options, 'arch')).map((a) => word('arch', a));
  if (arches.length === 0) throw new AptOptionError('--arch is required (e.g. --arch amd64 --arch all)');
  const translations = unique(list(options, 'translation')).map((l) => word('translation', l));
  const verifySignature = !(options['no-verify-signature'] === true || options['verify-signature'] === false);
  const keyringValue = options['keyring'];
  const keyring = typeof keyringValue === 'string' && keyringValue !== '' ? keyringValue : null;
  if (verifySignature && !keyring) {
    throw new AptOptionError(
      '--keyring is required to check the Release signature (Debian: /usr/share/keyrings/debian-archive-keyring.gpg)',
    );
  }
  const keepValue = options['by-hash-keep'] ?? 3;
  const byHashKeep = Number(keepValue);
  if (!Number.isInteger(byHashKeep) || byHashKeep < 0 || byHashKeep > 1000) {
    throw new AptOptionError(`--by-hash-keep '${String(keepValue)}' must be a whole number from 0 to 1000`);
  }
  const signKeyValue = options['sign-key'];
  return {
    suites,
    components: components.length ? components : ['main'],
    arches,
    sources: options['sources'] === true,
    translations,
    contents: options['contents'] === true,
    keyring,
    verifySignature,
    byHashKeep,
    include: list(options, 'include'),
    exclude: list(options, 'exclude'),
    excludeSections: list(options, 'exclude-section'),
    priorities: list(options, 'priority'),
    signKey: typeof signKeyValue === 'string' && signKeyValue !== '' ? signKeyValue : null,
  };
}

/** Fingerprint of everything that shapes the mirrored content (not the keyring's path). */
export function optionsKey(o: AptOptions): string {
  const shape = {
    suites: o.suites,
    components: o.components,
    arches: o.arches,
    sources: o.sources,
    translations: o.translations,
    contents: o.contents,
    include: o.include,
    exclude: o.exclude,
    excludeSections: o.excludeSections,
    priorities: o.priorities,
    signKey: o.signKey,
  };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex');
}
