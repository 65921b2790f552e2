// Partial-mirror filters on Packages / Sources stanzas.
//
// Contract: `compileFilter` turns the adapter options into a predicate, or null when no filter
// is set (a full mirror). Rules: --include (if any) keeps only names matching one regex;
// --exclude drops names matching any; --exclude-section drops a section given either whole
// ('non-free/debug') or by its last part ('debug'); --priority (binaries only) keeps only the
// listed priorities. Regexes are unanchored JavaScript regexes on the package name (binary
// name in Packages, source name in Sources). A bad regex throws FilterError.
import { UsageError } from '../../errors.js';
import type { Stanza } from './deb822.js';

/** A bad filter option: the CLI exits 2. */
export class FilterError extends UsageError {}

export interface FilterOptions {
  include: string[];
  exclude: string[];
  excludeSections: string[];
  priorities: string[];
}

export type StanzaKind = 'binary' | 'source';
export type StanzaFilter = (stanza: Stanza, kind: StanzaKind) => boolean;

function compile(flag: string, patterns: string[]): RegExp[] {
  return patterns.map((p) => {
    try {
      return new RegExp(p);
    } catch (err) {
      throw new FilterError(`--${flag} '${p}' is not a valid regular expression: ${(err as Error).message}`);
    }
  });
}

export function compileFilter(opts: FilterOptions): StanzaFilter | null {
  if (!opts.include.length && !opts.exclude.length && !opts.excludeSections.length && !opts.priorities.length) {
    return null;
  }
  const include = compile('include', opts.include);
  const exclude = compile('exclude', opts.exclude);
  const sections = new Set(opts.excludeSections);
  const priorities = new Set(opts.priorities);
  return (stanza, kind) => {
    const name = stanza.fields.get('package') ?? '';
    if (include.length && !include.some((r) => r.test(name))) return false;
    if (exclude.some((r) => r.test(name))) return false;
    const section = stanza.fields.get('section');
    if (section && (sections.has(section) || sections.has(section.slice(section.lastIndexOf('/') + 1)))) return false;
    if (kind === 'binary' && priorities.size && !priorities.has(stanza.fields.get('priority') ?? '')) return false;
    return true;
  };
}
