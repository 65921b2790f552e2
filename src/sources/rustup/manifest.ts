// Rust dist manifests (v2, TOML) as the mirror needs them: which archive files a release
// references, per package and target, with their sha256.
//
// Contract: `parseManifest(text, origin)` accepts only `manifest-version = "2"` with a date and a
// `pkg` table, and returns every package target: `available = false` ones without files, the
// others with the gz archive (`url`/`hash`) and, when present, the xz one (`xz_url`/`xz_hash`).
// Archive URLs are absolute (https://static.rust-lang.org/dist/...); like rustup, the mirror
// keeps only the path (it must start with `dist/`, and is checked like any upstream path).
// Anything malformed (bad TOML, a hash that is not 64 hex digits, an unsafe or foreign path, a
// hostile package or target name) throws ManifestError naming the manifest and the field; the
// mirror never publishes a manifest it could not read whole. `renames` and `profiles` are read
// for component selection; unknown tables (`artifacts`, ...) are ignored.
import { parse, TomlError } from 'smol-toml';
import { checkRelativePath } from '../../model/safe-path.js';

export class ManifestError extends Error {}

export interface ArchiveRef {
  /** Mirror path (= upstream path under the dist server), e.g. dist/2026-11-28/rustc-nightly-x86_64-unknown-linux-gnu.tar.xz */
  path: string;
  sha256: string;
}

export interface PackageTarget {
  pkg: string;
  /** A triple, or '*' for target-independent packages such as rust-src. */
  target: string;
  available: boolean;
  gz?: ArchiveRef;
  xz?: ArchiveRef;
}

export interface Manifest {
  date: string;
  /** pkg.rust.version, e.g. "1.90.0 (1159e78c4 2025-09-14)"; '' when the manifest has no rust package. */
  rustVersion: string;
  targets: PackageTarget[];
  /** old name -> package name, e.g. clippy -> clippy-preview */
  renames: Map<string, string>;
  profiles: Map<string, string[]>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;
export const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function parseManifest(text: string, origin: string): Manifest {
  const fail = (what: string): never => {
    throw new ManifestError(`${origin}: ${what}`);
  };
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    const e = err as TomlError;
    return fail(`not valid TOML (${(e.message ?? String(err)).split('\n')[0]})`);
  }
  if (doc['manifest-version'] !== '2') fail(`manifest-version ${JSON.stringify(doc['manifest-version'] ?? null)} is not "2"`);
  const date = doc['date'];
  if (typeof date !== 'string' || !DATE.test(date)) fail(`date ${JSON.stringify(date ?? null)} is not YYYY-MM-DD`);
  const pkgs = doc['pkg'];
  if (!isTable(pkgs)) return fail('no [pkg] table');
  const targets: PackageTarget[] = [];
  for (const [pkg, body] of Object.entries(pkgs)) {
    if (!NAME.test(pkg)) fail(`package name ${JSON.stringify(pkg)} is not a plain name`);
    if (!isTable(body) || !isTable(body['target'])) fail(`pkg.${pkg} has no target table`);
    for (const [target, entry] of Object.entries((body as Table)['target'] as Table)) {
      if (target !== '*' && !NAME.test(target)) fail(`pkg.${pkg}: target ${JSON.stringify(target)} is not a plain triple`);
      if (!isTable(entry)) return fail(`pkg.${pkg}.target.${target} is not a table`);
      targets.push(readTarget(pkg, target, entry, fail));
    }
  }
  const rust = pkgs['rust'];
  const rustVersion = isTable(rust) && typeof rust['version'] === 'string' ? rust['version'] : '';
  return { date: date as string, rustVersion, targets, renames: readRenames(doc['renames'], fail), profiles: readProfiles(doc['profiles'], fail) };
}

function readTarget(pkg: string, target: string, entry: Table, fail: (what: string) => never): PackageTarget {
  const where = `pkg.${pkg}.target.${target}`;
  if (entry['available'] === false) return { pkg, target, available: false };
  if (entry['available'] !== true) fail(`${where}.available is not a boolean`);
  const archive = (urlKey: string, hashKey: string): ArchiveRef | undefined => {
    const url = entry[urlKey];
    const hash = entry[hashKey];
    if (url === undefined && hash === undefined) return undefined;
    if (typeof url !== 'string') return fail(`${where}.${urlKey} is missing`);
    if (typeof hash !== 'string' || !SHA256.test(hash)) return fail(`${where}.${hashKey} is not a sha256`);
    return { path: archivePath(url, `${where}.${urlKey}`, fail), sha256: hash };
  };
  const gz = archive('url', 'hash');
  if (!gz) fail(`${where}: available but no url`);
  return { pkg, target, available: true, gz, xz: archive('xz_url', 'xz_hash') };
}

/** The dist-server-relative path of an absolute archive URL: what rustup requests from a mirror. */
export function archivePath(url: string, where: string, fail: (what: string) => never): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(`${where} ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') fail(`${where} ${JSON.stringify(url)} is not http(s)`);
  if (parsed.search || parsed.hash) fail(`${where} ${JSON.stringify(url)} has a query or fragment`);
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname.slice(1));
  } catch {
    return fail(`${where} ${JSON.stringify(url)} is badly escaped`);
  }
  const unsafe = checkRelativePath(path);
  if (unsafe) fail(`${where} ${JSON.stringify(url)}: ${unsafe}`);
  if (!path.startsWith('dist/')) fail(`${where} ${JSON.stringify(url)} is not under /dist/`);
  return path;
}

function readRenames(value: unknown, fail: (what: string) => never): Map<string, string> {
  const out = new Map<string, string>();
  if (value === undefined) return out;
  if (!isTable(value)) return fail('renames is not a table');
  for (const [from, body] of Object.entries(value)) {
    const to = isTable(body) ? body['to'] : undefined;
    if (!NAME.test(from) || typeof to !== 'string' || !NAME.test(to)) fail(`renames.${from} is not a rename to a package name`);
    out.set(from, to as string);
  }
  return out;
}

function readProfiles(value: unknown, fail: (what: string) => never): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (value === undefined) return out;
  if (!isTable(value)) return fail('profiles is not a table');
  for (const [name, list] of Object.entries(value)) {
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) fail(`profiles.${name} is not a list of names`);
    out.set(name, list as string[]);
  }
  return out;
}

/** "1.90.0 (1159e78c4 2025-09-14)" -> "1.90.0"; null unless a plain X.Y.Z release. */
export function stableVersion(rustVersion: string): string | null {
  const m = rustVersion.match(/^(\d+)\.(\d+)\.(\d+)(?:\s|$)/);
  return m ? `${Number(m[1])}.${Number(m[2])}.${Number(m[3])}` : null;
}

/** The first token of a `.sha256` file (`<hex>  <name>`), or null when it is not a sha256. */
export function readShaFile(text: string): string | null {
  const token = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return SHA256.test(token) ? token : null;
}
