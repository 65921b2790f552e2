// The opam file format parser, the download fields read from it, and index.tar.gz reading and
// writing: unit tests on in-memory text and temporary files.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, promises as fs, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { OpamSyntaxError, parseOpam, printOpam, type OpamItem } from '../../src/sources/opam/syntax.js';
import { OpamFormatError, notCacheable, opamDownloads, parseHash, urlFileDownload } from '../../src/sources/opam/opam-file.js';
import { readTarball, writeTarball, type TarMember } from '../../src/sources/opam/tarball.js';

const SHA256 = 'a'.repeat(64);
const SHA512 = 'b'.repeat(128);
const MD5 = 'c'.repeat(32);

const REALISTIC = `opam-version: "2.0"
synopsis: "A \\"quoted\\" synopsis"
description: """
Triple-quoted, with "quotes" inside
and two lines."""
maintainer: ["a@example.org" "b@example.org"]
(* a block comment (* nested *) spanning
   two lines *)
license: "ISC" # a line comment
depends: [
  "ocaml" {>= "4.08.0" & < "5.0"}
  "dune" {>= "3.0" | build}
  "conf-gmp" {os != "win32"}
  ("lwt" | "async") 
  "alcotest" {with-test & ?foo:bar & !(os = "macos")}
]
depopts: ["base-unix"]
build: [
  ["dune" "subst"] {dev}
  ["dune" "build" "-p" name "-j" jobs "@install" "@runtest" {with-test}]
]
setenv: [FOO += "x"  BAR = "y"  BAZ := "z"]
available: arch != "arm32" & os-distribution != "alpine"
flags: light-uninstall
x-ci-accept-failures: ["centos-7"]
int-field: -42
bool-field: false
url {
  src: "https://example.org/x-1.0.tbz"
  checksum: [
    "sha256=${SHA256}"
    "sha512=${SHA512}"
  ]
  mirrors: ["https://mirror.example/x-1.0.tbz"]
}
extra-source "fix.patch" {
  src: "https://example.org/fix.patch"
  checksum: "md5=${MD5}"
}
`;

function field(items: OpamItem[], name: string) {
  const f = items.find((i) => i.type === 'field' && i.name === name);
  if (!f || f.type !== 'field') throw new Error(`no field ${name}`);
  return f.value;
}

function syntaxError(text: string): OpamSyntaxError {
  try {
    parseOpam(text);
  } catch (err) {
    if (err instanceof OpamSyntaxError) return err;
    throw err;
  }
  throw new Error('parsed without error');
}

function formatError(text: string): OpamFormatError {
  try {
    opamDownloads(parseOpam(text));
  } catch (err) {
    if (err instanceof OpamFormatError) return err;
    throw err;
  }
  throw new Error('read without error');
}

describe('opam file syntax', () => {
  it('parses a realistic file: strings, triple quotes, comments, lists, options, operators, sections', () => {
    const items = parseOpam(REALISTIC);
    expect(field(items, 'synopsis')).toMatchObject({ type: 'string', value: 'A "quoted" synopsis' });
    expect(field(items, 'description')).toMatchObject({ type: 'string', value: '\nTriple-quoted, with "quotes" inside\nand two lines.' });
    expect(field(items, 'license')).toMatchObject({ type: 'string', value: 'ISC', line: 9 });
    const depends = field(items, 'depends');
    expect(depends.type).toBe('list');
    if (depends.type !== 'list') return;
    expect(depends.items).toHaveLength(5);
    expect(depends.items[0]).toMatchObject({
      type: 'option',
      value: { type: 'string', value: 'ocaml' },
      options: [{ type: 'logop', op: '&', left: { type: 'prefix-relop', op: '>=' }, right: { type: 'prefix-relop', op: '<' } }],
    });
    expect(depends.items[3]).toMatchObject({ type: 'group', items: [{ type: 'logop', op: '|' }] });
    // `a & b & !(c)`: left-associative, the prefix operator binds tighter than `&`.
    expect(depends.items[4]).toMatchObject({
      options: [{ type: 'logop', op: '&', left: { type: 'logop', op: '&', right: { type: 'pfxop', op: '?', value: { type: 'ident', value: 'foo:bar' } } }, right: { type: 'pfxop', op: '!' } }],
    });
    expect(field(items, 'setenv')).toMatchObject({ items: [{ type: 'envop', op: '+=' }, { type: 'relop', op: '=' }, { type: 'envop', op: ':=' }] });
    expect(field(items, 'available')).toMatchObject({ type: 'logop', op: '&', left: { type: 'relop', op: '!=' } });
    expect(field(items, 'flags')).toMatchObject({ type: 'ident', value: 'light-uninstall' });
    expect(field(items, 'int-field')).toMatchObject({ type: 'int', value: -42 });
    expect(field(items, 'bool-field')).toMatchObject({ type: 'bool', value: false });
    const url = items.find((i) => i.type === 'section' && i.kind === 'url');
    expect(url).toMatchObject({ type: 'section', name: null, line: 28 });
    expect(items.find((i) => i.type === 'section' && i.kind === 'extra-source')).toMatchObject({ name: 'fix.patch', line: 36 });
  });

  it('reads escapes, string continuation lines and identifiers of every shape', () => {
    const items = parseOpam('a: "t\\tn\\n\\065\\x42\\\\ \\"q\\" end \\\n      next"\nb: [_ foo+bar pkg:var foo+_ 0install]');
    expect(field(items, 'a')).toMatchObject({ value: 't\tn\nAB\\ "q" end next' });
    const b = field(items, 'b');
    if (b.type !== 'list') throw new Error('not a list');
    expect(b.items.map((v) => [v.type, 'value' in v ? v.value : null])).toEqual([
      ['int', 0],
      ['ident', 'foo+bar'],
      ['ident', 'pkg:var'],
      ['ident', 'foo+_'],
      ['ident', '0install'],
    ]);
  });

  it('reports a malformed file with the line of the fault', () => {
    expect(syntaxError('opam-version: "2.0"\nname: "x"\ndepends: [\n  "a" {>= "1"\n]\n')).toMatchObject({ line: 5, reason: "expected a value, found ']'" });
    expect(syntaxError('a: "x"\nb: "unterminated\n\n')).toMatchObject({ line: 2, reason: 'unterminated string' });
    expect(syntaxError('a: "x"\n(* open\ncomment\n')).toMatchObject({ line: 2, reason: 'unterminated comment' });
    expect(syntaxError('a: "x"\n\nb "name"\n')).toMatchObject({ line: 4, reason: "expected '{', found end of file" });
    expect(syntaxError('a: "x"\n@ "y"\n')).toMatchObject({ line: 2, reason: "'@' is not a valid token" });
    expect(syntaxError('a: "bad \\q escape"\n')).toMatchObject({ line: 1, reason: 'illegal escape sequence' });
    expect(syntaxError('url {\n  src: "x"\n')).toMatchObject({ line: 3 });
    expect(syntaxError('"x": 1\n').message).toBe('line 1: expected a field or section name, found a string');
  });

  it('prints items back so that they parse to the same tree', () => {
    const items = parseOpam(REALISTIC);
    const strip = (x: unknown): unknown =>
      JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === 'line' ? undefined : v)));
    expect(strip(parseOpam(printOpam(items)))).toEqual(strip(items));
  });
});

describe('opam download sources', () => {
  it('reads url and extra-source, keeping the checksum order the file gives', () => {
    const [url, extra] = opamDownloads(parseOpam(REALISTIC));
    expect(url).toEqual({
      name: null,
      url: 'https://example.org/x-1.0.tbz',
      mirrors: ['https://mirror.example/x-1.0.tbz'],
      hashes: [{ kind: 'sha256', hex: SHA256 }, { kind: 'sha512', hex: SHA512 }],
      line: 28,
    });
    expect(extra).toMatchObject({ name: 'fix.patch', url: 'https://example.org/fix.patch', hashes: [{ kind: 'md5', hex: MD5 }], line: 36 });
    expect(extra.uncacheable).toBeUndefined();
  });

  it('reads the old forms: archive:, http:, a bare md5 checksum, a url file', () => {
    const [a] = opamDownloads(parseOpam(`opam-version: "2.0"\nurl {\n  archive: "http://x.example/a.tgz"\n  checksum: "${MD5}"\n}\n`));
    expect(a).toMatchObject({ url: 'http://x.example/a.tgz', hashes: [{ kind: 'md5', hex: MD5 }] });
    expect(a.uncacheable).toBeUndefined();
    const [h] = opamDownloads(parseOpam(`url { http: "https://x.example/h.tgz" checksum: ["md5=${MD5}"] }`));
    expect(h).toMatchObject({ url: 'https://x.example/h.tgz', hashes: [{ kind: 'md5', hex: MD5 }] });
    expect(urlFileDownload(parseOpam(`archive: "https://x.example/old.tar.gz"\nchecksum: "${MD5.toUpperCase()}"\n`))).toMatchObject({
      url: 'https://x.example/old.tar.gz',
      hashes: [{ kind: 'md5', hex: MD5.toUpperCase() }],
    });
  });

  it('says why a source cannot be cached', () => {
    const reason = (body: string) => opamDownloads(parseOpam(`url { ${body} }`))[0].uncacheable;
    expect(reason(`src: "git+https://example.org/x.git" checksum: "sha256=${SHA256}"`)).toBe('a version control repository');
    expect(reason(`git: "https://example.org/x.git"`)).toBe('a version control repository');
    expect(reason(`src: "https://example.org/x.tbz"`)).toBe('no checksum');
    expect(reason(`local: "/src/x"`)).toBe('a local path');
    expect(reason(`src: "ftp://example.org/x.tbz" checksum: "md5=${MD5}"`)).toBe('a ftp address');
    expect(reason(`src: "https://example.org/x.git" checksum: "md5=${MD5}"`)).toBeUndefined();
    expect(notCacheable('hg+https://example.org/r')).toBe('a version control repository');
    expect(notCacheable('darcs://example.org/r')).toBe('a version control repository');
    expect(notCacheable('file:///tmp/x.tgz')).toBe('a file address');
    expect(notCacheable('x/y.tgz')).toBe('a local path');
    expect(notCacheable('https://example.org/a b')).toBeNull();
  });

  it('refuses a file whose checksum is not hex or whose sections are malformed, with the line', () => {
    expect(formatError(`opam-version: "2.0"\nurl {\n  src: "https://x/a"\n  checksum: "sha256=../../etc/passwd"\n}\n`)).toMatchObject({ line: 4 });
    expect(formatError(`url {\n src: "https://x/a"\n checksum: "sha256=${'g'.repeat(64)}"\n}`).reason).toMatch(/not 64 hex digits of sha256/);
    expect(formatError(`url { src: "https://x/a" checksum: "sha1=${'a'.repeat(40)}" }`).reason).toBe("unknown checksum kind 'sha1'");
    expect(formatError(`url { src: "https://x/a" checksum: "${'a'.repeat(31)}" }`).reason).toMatch(/not 32 hex digits of md5/);
    expect(formatError(`url { checksum: "${MD5}" }`).reason).toBe('no address (src:) in the url section');
    expect(formatError(`url { src: "a" archive: "b" }`).reason).toBe('both src: and archive: given');
    expect(formatError(`url { src: ["a"] }`).reason).toBe('src: must be a string');
    expect(formatError(`url { src: "a" }\nurl { src: "b" }`)).toMatchObject({ line: 2, reason: 'a second url section' });
    expect(formatError(`extra-source { src: "a" }`).reason).toBe('extra-source needs a file name');
    expect(formatError(`extra-source "../x" { src: "https://x/a" }`).reason).toMatch(/not a plain file name/);
  });

  it('parses a checksum string in both forms', () => {
    expect(parseHash(`sha512=${SHA512}`, 1)).toEqual({ kind: 'sha512', hex: SHA512 });
    expect(parseHash(MD5, 1)).toEqual({ kind: 'md5', hex: MD5 });
  });
});

describe('index.tar.gz', () => {
  it('reads what tar wrote and writes what tar reads, deterministically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opam-tar-'));
    try {
      await fs.mkdir(join(dir, 'src/packages/a/a.1'), { recursive: true });
      writeFileSync(join(dir, 'src/repo'), 'opam-version: "2.0"\n');
      writeFileSync(join(dir, 'src/packages/a/a.1/opam'), 'opam-version: "2.0"\n');
      execFileSync('ln', ['-s', '/etc/passwd', join(dir, 'src/packages/a/a.1/link')]);
      execFileSync('tar', ['-czf', join(dir, 'in.tar.gz'), '-C', join(dir, 'src'), '.']);
      const others: string[] = [];
      const members: TarMember[] = [];
      for await (const m of readTarball(join(dir, 'in.tar.gz'), (p, t) => others.push(`${p} ${t}`))) members.push(m);
      expect(members.map((m) => m.path).sort()).toEqual(['packages/a/a.1/opam', 'repo']);
      expect(others).toEqual(['packages/a/a.1/link symlink']);

      await writeTarball(join(dir, 'out.tar.gz'), members);
      await writeTarball(join(dir, 'out2.tar.gz'), members);
      expect(await fs.readFile(join(dir, 'out.tar.gz'))).toEqual(await fs.readFile(join(dir, 'out2.tar.gz')));
      const listing = execFileSync('tar', ['-tzf', join(dir, 'out.tar.gz')], { encoding: 'utf8' });
      expect(listing.trim().split('\n').sort()).toEqual(['packages/a/a.1/opam', 'repo']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('fails on a truncated tarball instead of returning part of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opam-tar-'));
    try {
      const members = Array.from({ length: 200 }, (_, i) => ({ path: `packages/p${i}/p${i}.1/opam`, mtime: new Date(0), content: Buffer.from(`x: "${i}${'y'.repeat(i * 13)}"\n`) }));
      await writeTarball(join(dir, 'full.tar.gz'), members);
      const full = await fs.readFile(join(dir, 'full.tar.gz'));
      writeFileSync(join(dir, 'cut.tar.gz'), full.subarray(0, Math.floor(full.length / 2)));
      const read = async () => {
        for await (const m of readTarball(join(dir, 'cut.tar.gz'), () => undefined)) void m;
      };
      await expect(read()).rejects.toThrow(/unexpected end of file/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
