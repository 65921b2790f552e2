// Adapter flags on the command line: every source's declared options are registered on the
// commands that take a <kind>, and for one run only the chosen source's flags are accepted,
// typed as the source declared them and keyed by the flag name (ctx.options['base-url']).
import type { Command } from 'cac';
import { sources } from '../sources/index.js';
import type { Source, SourceOptionSpec } from '../sources/types.js';
import { UsageError } from '../errors.js';
import { parserKey } from './flags.js';

export function registerSourceFlags(command: Command): void {
  const seen = new Set<string>();
  for (const source of sources) {
    for (const spec of source.options) {
      if (seen.has(spec.flag)) continue;
      seen.add(spec.flag);
      command.option(`--${spec.flag}${spec.type === 'boolean' ? '' : ' <value>'}`, sourceFlagHelp(spec.flag));
      // cac gives a `--no-x` flag an implicit default (true) that its help would print as if the flag were on.
      command.options[command.options.length - 1].config.default = undefined;
    }
  }
}

/** A flag several sources declare, each in its own words (apt's --include is a regex, conda's a glob). */
export function sourceFlagHelp(flag: string): string {
  const byText = new Map<string, string[]>();
  for (const s of sources) {
    const spec = s.options.find((o) => o.flag === flag);
    if (spec) byText.set(spec.description, [...(byText.get(spec.description) ?? []), s.kind]);
  }
  return [...byText].map(([text, kinds]) => `[${kinds.join(', ')}] ${text}`).join(' · ');
}

export function sourceOptionValues(source: Source, flags: Record<string, unknown>): Record<string, unknown> {
  const own = new Set(source.options.map((o) => o.flag));
  for (const other of sources) {
    for (const spec of other.options) {
      if (!own.has(spec.flag) && flags[parserKey(spec.flag)] !== undefined) {
        throw new UsageError(`--${spec.flag} is not an option of '${source.kind}' (it belongs to ${other.kind})`);
      }
    }
  }
  const values: Record<string, unknown> = {};
  for (const spec of source.options) {
    const value = spec.type === 'boolean' && spec.flag.startsWith('no-') ? negated(flags, spec.flag) : flags[parserKey(spec.flag)];
    values[spec.flag] = value === undefined ? spec.default : coerce(spec, value);
  }
  return values;
}

/** cac reads `--no-foo` as foo=false (default true): a declared 'no-foo' flag is set when foo is false. */
function negated(flags: Record<string, unknown>, flag: string): true | undefined {
  return flags[parserKey(flag.slice(3))] === false ? true : undefined;
}

function coerce(spec: SourceOptionSpec, value: unknown): unknown {
  const list = Array.isArray(value) ? value : [value];
  switch (spec.type) {
    case 'string[]':
      return list.map(String);
    case 'number': {
      const n = Number(list[list.length - 1]);
      if (!Number.isFinite(n)) throw new UsageError(`--${spec.flag} takes a number, not '${String(value)}'`);
      return n;
    }
    case 'boolean':
      return Boolean(list[list.length - 1]);
    default:
      if (list.length > 1) throw new UsageError(`--${spec.flag} may be given only once`);
      if (typeof list[0] === 'boolean') throw new UsageError(`--${spec.flag} needs a value`);
      return String(list[0]);
  }
}
