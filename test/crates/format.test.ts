import { describe, expect, it } from 'vitest';
import {
  crateFilePath,
  cratesBaseTemplate,
  expandDl,
  indexPathFor,
  isIndexPath,
  parseIndexFile,
  parseIndexLine,
  prefixFor,
} from '../../src/sources/crates/format.js';
import { nameFilter } from '../../src/sources/name-filter.js';

const CK = 'a'.repeat(64);

describe('crates index paths', () => {
  it('shards by lowercased name length', () => {
    expect(indexPathFor('a')).toBe('1/a');
    expect(indexPathFor('cc')).toBe('2/cc');
    expect(indexPathFor('syn')).toBe('3/s/syn');
    expect(indexPathFor('serde')).toBe('se/rd/serde');
    expect(indexPathFor('MyCrate')).toBe('my/cr/mycrate');
    expect(indexPathFor('A_b')).toBe('3/a/a_b');
    expect(indexPathFor('ab-c')).toBe('ab/-c/ab-c');
  });
  it('keeps case in {prefix}', () => {
    expect(prefixFor('MyCrate')).toBe('My/Cr');
    expect(prefixFor('Syn')).toBe('3/S');
    expect(prefixFor('X')).toBe('1');
  });
  it('recognises index files only at their shard', () => {
    expect(isIndexPath('se/rd/serde')).toBe(true);
    expect(isIndexPath('1/a')).toBe(true);
    expect(isIndexPath('3/s/syn')).toBe(true);
    expect(isIndexPath('config.json')).toBe(false);
    expect(isIndexPath('README.md')).toBe(false);
    expect(isIndexPath('.github/workflows/ci')).toBe(false);
    expect(isIndexPath('se/rd/Serde')).toBe(false);
    expect(isIndexPath('xx/rd/serde')).toBe(false);
    expect(isIndexPath('2/abc')).toBe(false);
    expect(isIndexPath('se/rd/ser..de')).toBe(false);
  });
  it('stores .crate files with the name as published', () => {
    expect(crateFilePath('MyCrate', '1.0.0-beta.1+build')).toBe('crates/MyCrate/MyCrate-1.0.0-beta.1+build.crate');
  });
});

describe('dl template', () => {
  const v = { name: 'MyCrate', vers: '1.2.3', cksum: CK };
  it('expands every marker', () => {
    expect(expandDl('https://x/{crate}/{version}/{prefix}/{lowerprefix}/{sha256-checksum}', v)).toBe(
      `https://x/MyCrate/1.2.3/My/Cr/my/cr/${CK}`,
    );
    expect(expandDl('https://x/{lowerprefix}/{crate}', { ...v, name: 'Abc' })).toBe('https://x/3/a/Abc');
  });
  it('appends /{crate}/{version}/download when there is no marker', () => {
    expect(expandDl('https://static.crates.io/crates', v)).toBe('https://static.crates.io/crates/MyCrate/1.2.3/download');
    expect(expandDl('https://h/api/v1/crates/', v)).toBe('https://h/api/v1/crates/MyCrate/1.2.3/download');
  });
  it('turns --crates-base into a template', () => {
    expect(cratesBaseTemplate('https://static.crates.io')).toBe('https://static.crates.io/crates/{crate}/{crate}-{version}.crate');
    expect(cratesBaseTemplate('https://m/x/{crate}-{version}')).toBe('https://m/x/{crate}-{version}');
  });
});

describe('index lines', () => {
  it('parses the fields a mirror needs and ignores unknown ones', () => {
    const r = parseIndexLine(JSON.stringify({ name: 'serde', vers: '1.0.0', deps: [], cksum: CK, features: {}, yanked: true, v: 2, future: { x: 1 } }));
    expect(r).toEqual({ ok: true, version: { name: 'serde', vers: '1.0.0', cksum: CK, yanked: true } });
    expect(parseIndexLine(JSON.stringify({ name: 'a', vers: '0.1.0', cksum: CK }))).toMatchObject({ ok: true, version: { yanked: false } });
  });
  it('rejects what cannot be mirrored safely', () => {
    expect(parseIndexLine('{nope')).toEqual({ ok: false, error: 'not valid JSON' });
    expect(parseIndexLine('[1]')).toMatchObject({ ok: false });
    expect(parseIndexLine(JSON.stringify({ name: '../x', vers: '1.0.0', cksum: CK }))).toMatchObject({ ok: false, error: 'bad or missing "name"' });
    expect(parseIndexLine(JSON.stringify({ name: 'x', vers: '1/0', cksum: CK }))).toMatchObject({ ok: false, error: 'bad or missing "vers"' });
    expect(parseIndexLine(JSON.stringify({ name: 'x', vers: '1.0.0', cksum: 'ABC' }))).toMatchObject({ ok: false, error: 'bad or missing "cksum"' });
    expect(parseIndexLine(JSON.stringify({ name: 'x', vers: '1.0.0', cksum: CK, yanked: 'yes' }))).toMatchObject({ ok: false });
  });
  it('splits a file, reporting bad lines with their number', () => {
    const bad: string[] = [];
    const lines = parseIndexFile(
      'se/rd/serde',
      [
        JSON.stringify({ name: 'serde', vers: '1.0.0', cksum: CK }),
        'garbage',
        '',
        JSON.stringify({ name: 'other', vers: '1.0.0', cksum: CK }),
        JSON.stringify({ name: 'Serde', vers: '1.0.1', cksum: CK }),
        JSON.stringify({ name: 'serde', vers: '1.0.0', cksum: CK }),
      ].join('\n'),
      (n, e) => bad.push(`${n}: ${e}`),
    );
    expect(lines.map((l) => [l.lineNo, l.version.vers])).toEqual([
      [1, '1.0.0'],
      [5, '1.0.1'],
    ]);
    expect(bad).toEqual(['2: not valid JSON', '4: crate "other" does not belong in this file', '6: duplicate version 1.0.0']);
  });
});

describe('name globs', () => {
  it('includes and excludes, case-insensitively', () => {
    const m = nameFilter(['serde*', 'to?io', '[ab]*'], ['*-derive', 'b[!x]*']).accepts;
    expect(m('serde')).toBe(true);
    expect(m('Serde_json')).toBe(true);
    expect(m('serde-derive')).toBe(false);
    expect(m('tokio')).toBe(true);
    expect(m('toio')).toBe(false);
    expect(m('abc')).toBe(true);
    expect(m('bc')).toBe(false);
    expect(m('bx')).toBe(true);
    expect(m('rand')).toBe(false);
    expect(nameFilter([], []).accepts('anything')).toBe(true);
    expect(nameFilter([], ['a.b']).accepts('axb')).toBe(true);
  });
});
