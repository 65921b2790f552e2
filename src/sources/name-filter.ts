// Package-name filters of a partial mirror, shared by the adapters (--include / --exclude):
// glob patterns (`*` any run, `?` one character, `[abc]`, `[!a-z]`) matched against the whole
// name, case-insensitively. A name is mirrored when it matches some include pattern (or there
// are none) and no exclude pattern. `stringList` reads such a repeatable option's value.

export interface NameFilter {
  /** False when there is no pattern at all (every name passes). */
  readonly active: boolean;
  accepts(name: string): boolean;
}

/** Glob to an anchored, case-insensitive RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\/\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

export function nameFilter(include: readonly string[], exclude: readonly string[]): NameFilter {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  if (inc.length === 0 && exc.length === 0) return { active: false, accepts: () => true };
  return {
    active: true,
    accepts: (name) => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name)),
  };
}

/** A repeatable string option's value (absent, one string or several) as a list of non-empty strings. */
export function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String).filter((s) => s !== '');
}
