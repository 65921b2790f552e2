// The streaming repodata scanner against JSON.parse on tricky documents, at every window size
// from tiny (every token split across reads) to large; plus malformed input.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanRepodata, RepodataFormatError } from '../../src/sources/conda/repodata-scanner.js';
import { RepodataWriter } from '../../src/sources/conda/repodata-writer.js';
import { compareCondaVersions } from '../../src/sources/conda/version-order.js';
import { LatestVersions } from '../../src/sources/conda/filters.js';
import { nameFilter } from '../../src/sources/name-filter.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conda-scan-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tricky = {
  info: { subdir: 'linux-64', note: 'braces } { and [ ] in "strings"' },
  packages: {
    'a-1.0-0.tar.bz2': { name: 'a', depends: ['b >=1', 'c'], size: 10, md5: '0'.repeat(32), x: { y: [1, [2, { z: null }]] } },
    'we\\ird"-1.0-0.tar.bz2': { name: 'q"uote\\', size: 0, sha256: 'f'.repeat(64), t: true, f: false, n: -1.5e3 },
    'ünï-1.0-0.tar.bz2': { name: 'ünï', size: 3, s: '\u2028\n\t\\"' },
  },
  'packages.conda': {},
  removed: ['old-1.0-0.tar.bz2'],
  repodata_version: 1,
};

async function scanAll(file: string, windowBytes?: number) {
  const records: Array<[string, string, unknown]> = [];
  const members: Record<string, unknown> = {};
  await scanRepodata(
    file,
    {
      onRecord: (section, key, raw) => records.push([section, key, JSON.parse(raw.toString())]),
      onMember: (key, raw) => (members[key] = JSON.parse(raw.toString())),
    },
    windowBytes,
  );
  return { records, members };
}

describe('scanRepodata', () => {
  it('matches JSON.parse at every window size, pretty or compact, with a BOM', async () => {
    for (const [label, text] of [
      ['compact', JSON.stringify(tricky)],
      ['pretty', JSON.stringify(tricky, null, 2)],
      ['bom', '\ufeff' + JSON.stringify(tricky, null, 1) + '\n'],
    ] as const) {
      const file = join(dir, `${label}.json`);
      await writeFile(file, text);
      for (const window of [1, 2, 3, 7, 16, 64, 1 << 20]) {
        const { records, members } = await scanAll(file, window);
        expect(records, `${label} @${window}`).toEqual(
          Object.entries(tricky.packages).map(([k, v]) => ['packages', k, v]),
        );
        expect(members).toEqual({ info: tricky.info, removed: tricky.removed, repodata_version: 1 });
      }
    }
  });

  it('rejects malformed documents with a byte offset', async () => {
    const bad = [
      '[1,2]',
      '{"packages": []}',
      '{"packages": {"a.tar.bz2": 5}}',
      '{"info": {}',
      '{"info": {}} x',
      '{"a": 1 "b": 2}',
      '{"packages": {"a.tar.bz2": {"x": "unterminated}}}',
      '',
    ];
    for (const text of bad) {
      const file = join(dir, 'bad.json');
      await writeFile(file, text);
      await expect(scanAll(file, 4), text).rejects.toBeInstanceOf(RepodataFormatError);
    }
  });

  it('round-trips through RepodataWriter, dropping info.base_url and unlisted records', async () => {
    const src = join(dir, 'src.json');
    const out = join(dir, 'out.json');
    const doc = { ...tricky, info: { subdir: 'linux-64', base_url: 'https://elsewhere/' }, repodata_version: 2 };
    await writeFile(src, JSON.stringify(doc, null, 2));
    const writer = new RepodataWriter(out);
    await scanRepodata(src, {
      onMember: (k, raw) => writer.member(k, raw),
      onSectionStart: (s) => writer.sectionStart(s),
      onSectionEnd: () => writer.sectionEnd(),
      onRecord: (_s, key, raw) => key.startsWith('a-') && writer.record(key, raw),
    });
    writer.finish();
    const { readFile } = await import('node:fs/promises');
    const back = JSON.parse(await readFile(out, 'utf8'));
    expect(back).toEqual({
      ...doc,
      info: { subdir: 'linux-64' },
      packages: { 'a-1.0-0.tar.bz2': tricky.packages['a-1.0-0.tar.bz2'] },
    });
  });
});

describe('conda version order and filters', () => {
  it('orders versions like conda', () => {
    const ascending = ['0.4.1.rc', '0.4.1', '0.4.2', '1.1dev1', '1.1a1', '1.1', '1.1.0post1', '1.2', '1.10', '1!0.1'];
    for (let i = 0; i + 1 < ascending.length; i++) {
      expect(compareCondaVersions(ascending[i], ascending[i + 1]), `${ascending[i]} < ${ascending[i + 1]}`).toBeLessThan(0);
      expect(compareCondaVersions(ascending[i + 1], ascending[i])).toBeGreaterThan(0);
    }
    expect(compareCondaVersions('1.1', '1.1.0')).toBe(0);
    expect(compareCondaVersions('1.0_1', '1.0.1')).toBe(0);
  });

  it('keeps every build of the N latest versions', () => {
    const latest = new LatestVersions(2);
    latest.add('a', '1.0', 'a-1.0-0');
    latest.add('a', '1.10', 'a-1.10-0');
    latest.add('a', '1.9', 'a-1.9-0');
    latest.add('a', '1.10', 'a-1.10-1');
    latest.add('b', '2', 'b-2-0');
    expect([...latest.select()].sort()).toEqual(['a-1.10-0', 'a-1.10-1', 'a-1.9-0', 'b-2-0']);
  });

  it('matches names with globs, exclude winning', () => {
    const f = nameFilter(['py*', 'zlib'], ['pytest*']);
    expect(['python', 'pyyaml', 'zlib', 'pytest', 'pytest-cov', 'numpy'].filter(f.accepts)).toEqual(['python', 'pyyaml', 'zlib']);
    expect(nameFilter([], []).active).toBe(false);
  });
});
