// Unit tests for the apt adapter's pure parts: deb822 stanzas, Release hash sections,
// Packages/Sources pool files, filters, and the xz/gz line readers.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { parseStanzas, streamStanzas } from '../../src/sources/apt/deb822.js';
import { parseRelease, renderRelease, sameRelease, byHashAlgo, ReleaseError } from '../../src/sources/apt/release.js';
import { packageFile, sourceFiles } from '../../src/sources/apt/pool.js';
import { compileFilter, FilterError } from '../../src/sources/apt/filter.js';
import { readText, compressFile } from '../../src/sources/apt/codec.js';
import { isSafeRelPath } from '../../src/sources/apt/paths.js';
import { selectIndexes, SelectionError } from '../../src/sources/apt/selection.js';
import { clearsignedText } from '../../src/sources/apt/gpg.js';

const H = (c: string, n: number) => c.repeat(n);

const RELEASE = `Origin: Test
Label: Test
Suite: stable
Codename: bookworm
Date: Sat, 10 Jun 2023 08:00:00 UTC
Acquire-By-Hash: yes
Architectures: all amd64
Components: main contrib
Description: Test archive
 second line
MD5Sum:
 ${H('a', 32)}   1234 main/binary-amd64/Packages
 ${H('b', 32)}    321 main/binary-amd64/Packages.xz
SHA256:
 ${H('c', 64)}   1234 main/binary-amd64/Packages
 ${H('d', 64)}    321 main/binary-amd64/Packages.xz
`;

describe('deb822 stanzas', () => {
  it('splits stanzas, joins continuation lines, keeps raw text and line numbers', () => {
    const problems: string[] = [];
    const text = 'Package: a\nDescription: short\n long line\n .\n end\n\n\n# comment\nPackage: b\r\nVersion: 1\n';
    const s = parseStanzas(text, (m) => problems.push(m));
    expect(problems).toEqual([]);
    expect(s).toHaveLength(2);
    expect(s[0].fields.get('description')).toBe('short\nlong line\n\nend');
    expect(s[0].raw).toBe('Package: a\nDescription: short\n long line\n .\n end');
    expect(s[1].fields.get('package')).toBe('b');
    expect(s[1].line).toBe(9);
    expect(s[1].order).toEqual(['Package', 'Version']);
  });

  it('streams the same stanzas whatever the chunking', async () => {
    const text = 'Package: a\nDescription: short\n long\n\nPackage: b\r\nVersion: 1\n\n\nPackage: c';
    const whole = parseStanzas(text).map((s) => s.raw);
    for (const size of [1, 2, 3, 7, 1000]) {
      async function* chunks() {
        for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
      }
      const got: string[] = [];
      for await (const s of streamStanzas(chunks())) got.push(s.raw);
      expect(got).toEqual(whole);
    }
    expect(whole).toEqual(['Package: a\nDescription: short\n long', 'Package: b\nVersion: 1', 'Package: c']);
  });

  it('reports malformed lines with their line number', () => {
    const problems: string[] = [];
    parseStanzas(' orphan\nPackage: a\nno colon here\nPackage: dup\n', (m) => problems.push(m));
    expect(problems).toEqual([
      'line 1: continuation line without a field',
      "line 3: not a 'Field: value' line",
      'line 4: duplicate field Package',
    ]);
  });
});

describe('Release', () => {
  it('parses fields and merges hash sections', () => {
    const r = parseRelease(RELEASE);
    expect(r.acquireByHash).toBe(true);
    expect(r.architectures).toEqual(['all', 'amd64']);
    expect(r.components).toEqual(['main', 'contrib']);
    expect(r.algos).toEqual(['md5', 'sha256']);
    expect(r.files.get('main/binary-amd64/Packages.xz')).toEqual({
      path: 'main/binary-amd64/Packages.xz',
      size: 321,
      checksums: { md5: H('b', 32), sha256: H('d', 64) },
    });
    expect(r.fields.find(([n]) => n === 'Description')?.[1]).toBe('Test archive\nsecond line');
    expect(byHashAlgo(r)).toMatchObject({ field: 'SHA256', algo: 'sha256' });
  });

  it('round-trips through renderRelease', () => {
    const r = parseRelease(RELEASE);
    const again = parseRelease(renderRelease(r.fields, [...r.files.values()], r.algos));
    expect(sameRelease(r, again)).toBe(true);
  });

  it('notices a Release that disagrees', () => {
    const other = parseRelease(RELEASE.replace(H('d', 64), H('e', 64)));
    expect(sameRelease(parseRelease(RELEASE), other)).toBe(false);
  });

  it.each([
    ['no SHA256', RELEASE.replace(/SHA256:[\s\S]*/, ''), /no SHA256/],
    ['short hex', RELEASE.replace(H('d', 64), H('d', 63)), /malformed SHA256 line/],
    ['unsafe path', RELEASE.replace('main/binary-amd64/Packages.xz', '../x'), /unsafe path/],
    ['size mismatch', RELEASE.replace('    321 main/binary-amd64/Packages.xz\nSHA256', '    322 main/binary-amd64/Packages.xz\nSHA256'), /sizes/],
    ['two stanzas', RELEASE + '\nOrigin: x\n', /one stanza/],
  ])('rejects %s', (_name, text, message) => {
    expect(() => parseRelease(text)).toThrow(ReleaseError);
    expect(() => parseRelease(text)).toThrow(message);
  });
});

describe('pool files', () => {
  const pkg = (extra: string) =>
    parseStanzas(`Package: hello\nVersion: 1\nFilename: pool/main/h/hello/hello_1_amd64.deb\nSize: 42\n${extra}`)[0];

  it('reads Filename, Size and checksums from a Packages stanza', () => {
    expect(packageFile(pkg(`MD5sum: ${H('A', 32)}\nSHA256: ${H('B', 64)}\n`))).toEqual({
      path: 'pool/main/h/hello/hello_1_amd64.deb',
      size: 42,
      checksums: { md5: H('a', 32), sha256: H('b', 64) },
    });
  });

  it('refuses stanzas without SHA256, with bad sizes or hostile paths', () => {
    expect(packageFile(pkg(`MD5sum: ${H('a', 32)}\n`))).toMatch(/no SHA256/);
    expect(packageFile(pkg(`SHA256: ${H('z', 64)}\n`))).toMatch(/bad sha256/);
    const hostile = parseStanzas(`Package: x\nFilename: ../../etc/passwd\nSize: 1\nSHA256: ${H('b', 64)}\n`)[0];
    expect(packageFile(hostile)).toMatch(/unsafe file name/);
    const intoDists = parseStanzas(`Package: x\nFilename: dists/stable/InRelease\nSize: 1\nSHA256: ${H('b', 64)}\n`)[0];
    expect(packageFile(intoDists)).toMatch(/points into dists/);
    const noSize = parseStanzas(`Package: x\nFilename: pool/x.deb\nSize: -1\nSHA256: ${H('b', 64)}\n`)[0];
    expect(packageFile(noSize)).toMatch(/bad Size/);
  });

  it('reads Files and Checksums-Sha256 from a Sources stanza', () => {
    const s = parseStanzas(
      `Package: hello\nDirectory: pool/main/h/hello\nFiles:\n ${H('1', 32)} 100 hello_1.dsc\n ${H('2', 32)} 2000 hello_1.tar.xz\n` +
        `Checksums-Sha256:\n ${H('3', 64)} 100 hello_1.dsc\n ${H('4', 64)} 2000 hello_1.tar.xz\n`,
    )[0];
    expect(sourceFiles(s)).toEqual([
      { path: 'pool/main/h/hello/hello_1.dsc', size: 100, checksums: { md5: H('1', 32), sha256: H('3', 64) } },
      { path: 'pool/main/h/hello/hello_1.tar.xz', size: 2000, checksums: { md5: H('2', 32), sha256: H('4', 64) } },
    ]);
  });

  it('refuses source files missing a SHA256 or with path tricks', () => {
    const noSha = parseStanzas(`Package: a\nDirectory: pool/a\nFiles:\n ${H('1', 32)} 1 a.dsc\n`)[0];
    expect(sourceFiles(noSha)).toMatch(/no Checksums-Sha256/);
    const slash = parseStanzas(`Package: a\nDirectory: pool/a\nChecksums-Sha256:\n ${H('3', 64)} 1 ../a.dsc\n`)[0];
    expect(sourceFiles(slash)).toMatch(/unsafe file name/);
    const sizes = parseStanzas(
      `Package: a\nDirectory: pool/a\nFiles:\n ${H('1', 32)} 1 a.dsc\nChecksums-Sha256:\n ${H('3', 64)} 2 a.dsc\n`,
    )[0];
    expect(sourceFiles(sizes)).toMatch(/sizes 1 and 2/);
  });

  it('checks relative paths', () => {
    for (const bad of ['', '/abs', 'a//b', 'a/./b', 'a/../b', 'a\\b', 'a\nb']) expect(isSafeRelPath(bad)).toBe(false);
    expect(isSafeRelPath('pool/main/g/gcc-12/gcc-12_12.2.0-14+deb12u1_amd64.deb')).toBe(true);
  });
});

describe('filters', () => {
  const st = (name: string, section = 'utils', priority = 'optional') =>
    parseStanzas(`Package: ${name}\nSection: ${section}\nPriority: ${priority}\n`)[0];
  const none = { include: [], exclude: [], excludeSections: [], priorities: [] };

  it('is null without options', () => expect(compileFilter(none)).toBeNull());

  it('applies include, exclude, section and priority', () => {
    const f = compileFilter({ include: ['^lib', '^hello$'], exclude: ['-dev$'], excludeSections: ['debug'], priorities: ['optional'] })!;
    expect(f(st('hello'), 'binary')).toBe(true);
    expect(f(st('hello-doc'), 'binary')).toBe(false);
    expect(f(st('libfoo'), 'binary')).toBe(true);
    expect(f(st('libfoo-dev'), 'binary')).toBe(false);
    expect(f(st('libfoo', 'non-free/debug'), 'binary')).toBe(false);
    expect(f(st('libfoo', 'utils', 'extra'), 'binary')).toBe(false);
    expect(f(st('libfoo', 'utils', 'source'), 'source')).toBe(true);
  });

  it('rejects a bad regex with the flag name', () => {
    expect(() => compileFilter({ ...none, exclude: ['('] })).toThrow(FilterError);
    expect(() => compileFilter({ ...none, exclude: ['('] })).toThrow(/--exclude '\('/);
  });
});

describe('codecs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'apt-codec-'));
  const text = 'Package: a\n\nPackage: b\n';
  /** The decompressed lines (without their newlines), as the index parsers see them. */
  const collect = async (file: string) => {
    let all = '';
    for await (const chunk of readText(file)) all += chunk;
    const lines = all.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  };

  it('reads plain, gz and xz the same', async () => {
    writeFileSync(join(dir, 'Packages'), text);
    writeFileSync(join(dir, 'Packages.gz'), gzipSync(text));
    writeFileSync(join(dir, 'Packages.xz'), execFileSync('xz', ['-c'], { input: text }));
    const want = ['Package: a', '', 'Package: b'];
    expect(await collect(join(dir, 'Packages'))).toEqual(want);
    expect(await collect(join(dir, 'Packages.gz'))).toEqual(want);
    expect(await collect(join(dir, 'Packages.xz'))).toEqual(want);
  });

  it('compresses back to gz and xz', async () => {
    await compressFile(join(dir, 'Packages'), join(dir, 'out.gz'), 'gz');
    await compressFile(join(dir, 'Packages'), join(dir, 'out.xz'), 'xz');
    expect(await collect(join(dir, 'out.gz'))).toEqual(['Package: a', '', 'Package: b']);
    expect(await collect(join(dir, 'out.xz'))).toEqual(['Package: a', '', 'Package: b']);
  });

  it('fails on a corrupt stream', async () => {
    writeFileSync(join(dir, 'bad.xz'), 'not xz at all');
    writeFileSync(join(dir, 'bad.gz'), Buffer.concat([gzipSync(text).subarray(0, 12), Buffer.from('garbage')]));
    await expect(collect(join(dir, 'bad.xz'))).rejects.toThrow(/xz failed/);
    await expect(collect(join(dir, 'bad.gz'))).rejects.toThrow();
  });
});

describe('index selection', () => {
  const line = (path: string, i: number) => ` ${String(i).padStart(64, '0')} ${100 + i} ${path}`;
  const paths = [
    'main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz', 'main/binary-amd64/Release',
    'main/binary-arm64/Packages.xz', 'main/binary-all/Packages.xz', 'main/source/Sources.xz', 'main/source/Release',
    'main/i18n/Translation-en.bz2', 'main/i18n/Translation-de.xz', 'main/Contents-amd64.gz', 'main/Contents-source.gz',
    'Contents-amd64.gz', 'contrib/binary-amd64/Packages.xz', 'main/dep11/Components-amd64.yml.gz',
  ];
  const release = parseRelease(`Suite: s\nArchitectures: amd64 arm64 all\nComponents: main contrib\nSHA256:\n${paths.map(line).join('\n')}\n`);
  const sel = { components: ['main'], arches: ['amd64'], sources: false, translations: [] as string[], contents: false };
  const picked = (s: typeof sel) => selectIndexes(release, s).flatMap((f) => f.variants.map((v) => v.path)).sort();

  it('picks the binary indexes of the chosen components and arches, every compression', () => {
    expect(picked(sel)).toEqual(['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz', 'main/binary-amd64/Release']);
    const families = selectIndexes(release, sel);
    expect(families.find((f) => f.base === 'main/binary-amd64/Packages')?.variants.map((v) => v.path)).toEqual([
      'main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz',
    ]);
  });

  it('adds sources, translations and contents when asked', () => {
    expect(picked({ ...sel, arches: ['amd64', 'all'], sources: true, translations: ['en'], contents: true })).toEqual([
      'Contents-amd64.gz', 'main/Contents-amd64.gz', 'main/Contents-source.gz',
      'main/binary-all/Packages.xz',
      'main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz', 'main/binary-amd64/Release',
      'main/i18n/Translation-en.bz2', 'main/source/Release', 'main/source/Sources.xz',
    ]);
  });

  it('refuses a component or architecture the suite lacks', () => {
    expect(() => selectIndexes(release, { ...sel, arches: ['riscv64'] })).toThrow(/lists no main\/binary-riscv64\/Packages/);
    expect(() => selectIndexes(release, { ...sel, components: ['non-free'] })).toThrow(SelectionError);
  });
});

describe('clearsigned text without verification', () => {
  it('extracts and dash-unescapes the signed text', () => {
    const msg = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: x\n- -----not armor\nSuite: s\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n';
    expect(clearsignedText(msg)).toBe('Origin: x\n-----not armor\nSuite: s\n');
  });

  it('refuses what is not a clearsigned message', () => {
    expect(() => clearsignedText('Origin: x\n')).toThrow(/not a clearsigned message/);
    expect(() => clearsignedText('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: x\n')).toThrow(/no signature block/);
  });
});
