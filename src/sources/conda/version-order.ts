// conda's version ordering, for `--keep-latest N`.
//
// A version is `[epoch!]main[+local]`, case-insensitive. `main` and `local` split on '.', '_'
// and '-' into components; each component splits into runs of digits (numbers) and of other
// characters (words); a component that starts with a word gets a leading 0, so `1.0.rc1` sorts
// before `1.0`. Missing components and parts compare as 0. Word < number, except that `dev`
// sorts below everything and `post` above everything; other words compare as strings.
// Equal versions (`1.1` and `1.1.0`) compare as 0.

type Part = number | string;
interface ParsedVersion {
  epoch: number;
  main: Part[][];
  local: Part[][];
}

const cache = new Map<string, ParsedVersion>();

function parseSegments(text: string): Part[][] {
  if (text === '') return [];
  return text.split(/[._-]/).map((component) => {
    const parts: Part[] = (component.match(/\d+|[^\d]+/g) ?? []).map((run) =>
      /^\d/.test(run) ? Number(run) : run,
    );
    if (parts.length === 0 || typeof parts[0] === 'string') parts.unshift(0);
    return parts;
  });
}

function parseVersion(version: string): ParsedVersion {
  const hit = cache.get(version);
  if (hit) return hit;
  let rest = version.trim().toLowerCase();
  let epoch = 0;
  const bang = rest.indexOf('!');
  if (bang >= 0) {
    epoch = Number(rest.slice(0, bang)) || 0;
    rest = rest.slice(bang + 1);
  }
  const plus = rest.indexOf('+');
  const local = plus >= 0 ? rest.slice(plus + 1) : '';
  if (plus >= 0) rest = rest.slice(0, plus);
  const parsed = { epoch, main: parseSegments(rest), local: parseSegments(local) };
  if (cache.size > 100_000) cache.clear();
  cache.set(version, parsed);
  return parsed;
}

function rank(part: Part): number {
  if (part === 'dev') return 0;
  if (typeof part === 'string') return part === 'post' ? 3 : 1;
  return 2;
}

function comparePart(a: Part, b: Part): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareSegments(a: Part[][], b: Part[][]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a[i] ?? [0];
    const cb = b[i] ?? [0];
    const m = Math.max(ca.length, cb.length);
    for (let j = 0; j < m; j++) {
      const d = comparePart(ca[j] ?? 0, cb[j] ?? 0);
      if (d !== 0) return d;
    }
  }
  return 0;
}

/** Negative when a < b, positive when a > b, 0 when equal under conda's ordering. */
export function compareCondaVersions(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch - vb.epoch;
  return compareSegments(va.main, vb.main) || compareSegments(va.local, vb.local);
}
