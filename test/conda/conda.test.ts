// End to end: a real conda channel (.tar.bz2 and .conda packages, repodata with its variants,
// channeldata.json) served on 127.0.0.1, mirrored by the real CLI; every published repodata
// entry re-validated independently (size, sha256, md5) and no unreferenced file left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDir, type StaticServer } from '../helpers/static-server.js';
import { runCli } from '../helpers/cli.js';
import { readTree } from '../helpers/tree.js';
import { writeChannel, type ChannelSpec, type PackageSpec } from '../../fixtures/conda-channel.js';

const INDEX_FILES = new Set(['repodata.json', 'repodata.json.bz2', 'repodata.json.zst', 'current_repodata.json']);

/** The mirror's file paths (without .mirror/), sorted. */
const walk = (root: string): string[] => [...readTree(root).keys()].sort();

function hash(algo: string, bytes: Buffer): string {
  return createHash(algo).update(bytes).digest('hex');
}

/** Independently re-validates a mirrored channel; returns the problems found. */
function checkMirror(dest: string): string[] {
  const problems: string[] = [];
  const referenced = new Set<string>();
  const files = walk(dest);
  for (const file of files) {
    const [subdir, name, ...rest] = file.split('/');
    if (rest.length > 0 || (name === undefined && subdir !== 'channeldata.json')) problems.push(`unexpected path ${file}`);
  }
  const subdirs = readdirSync(dest, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== '.mirror');
  for (const { name: subdir } of subdirs) {
    const repodataFile = join(dest, subdir, 'repodata.json');
    if (!existsSync(repodataFile)) {
      problems.push(`${subdir}: no repodata.json`);
      continue;
    }
    const text = readFileSync(repodataFile, 'utf8');
    const repodata = JSON.parse(text);
    if (repodata.info?.base_url) problems.push(`${subdir}: published base_url`);
    for (const section of ['packages', 'packages.conda']) {
      for (const [filename, rec] of Object.entries<Record<string, unknown>>(repodata[section] ?? {})) {
        const path = join(dest, subdir, filename);
        referenced.add(`${subdir}/${filename}`);
        if (!existsSync(path)) {
          problems.push(`${subdir}/${filename}: missing`);
          continue;
        }
        const bytes = readFileSync(path);
        if (bytes.length !== rec.size) problems.push(`${subdir}/${filename}: size`);
        if (hash('sha256', bytes) !== rec.sha256) problems.push(`${subdir}/${filename}: sha256`);
        if (hash('md5', bytes) !== rec.md5) problems.push(`${subdir}/${filename}: md5`);
      }
    }
    // Compressed variants hold exactly the published repodata.json.
    const bz2 = join(dest, subdir, 'repodata.json.bz2');
    if (existsSync(bz2) && execFileSync('bzip2', ['-dc', bz2]).toString() !== text) problems.push(`${subdir}: .bz2 differs`);
    const zst = join(dest, subdir, 'repodata.json.zst');
    if (existsSync(zst) && execFileSync('zstd', ['-dc', zst]).toString() !== text) problems.push(`${subdir}: .zst differs`);
    // current_repodata.json names only mirrored files, with the same records.
    const currentFile = join(dest, subdir, 'current_repodata.json');
    if (existsSync(currentFile)) {
      const current = JSON.parse(readFileSync(currentFile, 'utf8'));
      for (const section of ['packages', 'packages.conda']) {
        for (const [filename, rec] of Object.entries(current[section] ?? {})) {
          if (JSON.stringify(repodata[section]?.[filename]) !== JSON.stringify(rec)) {
            problems.push(`${subdir}: current_repodata.json lists ${filename} differently`);
          }
        }
      }
    }
  }
  for (const file of files) {
    const base = file.split('/').pop()!;
    if (file === 'channeldata.json' || INDEX_FILES.has(base)) continue;
    if (!referenced.has(file)) problems.push(`unreferenced ${file}`);
  }
  return problems;
}

const pkgs = {
  noarch: [
    { name: 'tzdata', version: '2023c', format: 'tar.bz2' },
    { name: 'pip', version: '23.0', format: 'conda' },
    { name: 'pip', version: '23.1', format: 'conda' },
  ] as PackageSpec[],
  'linux-64': [
    { name: 'zlib', version: '1.2.13', format: 'tar.bz2' },
    { name: 'zlib', version: '1.2.13', format: 'conda' },
    { name: 'python', version: '3.10.0', format: 'conda', depends: ['zlib'] },
    { name: 'python', version: '3.11.4', format: 'conda', depends: ['zlib'] },
    { name: 'python', version: '3.11.4', build: 'h1_1', buildNumber: 1, format: 'tar.bz2' },
  ] as PackageSpec[],
};

let work: string;
let upstream: string;
let server: StaticServer;
/** Fault injection: paths whose body the server replaces with garbage of the same length. */
const corrupt = new Set<string>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'conda-e2e-'));
  upstream = join(work, 'up');
  server = await serveDir(upstream, (req, res) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]);
    if (!corrupt.has(path)) return false;
    const real = readFileSync(join(upstream, path));
    res.writeHead(200, { 'content-length': real.length }).end(Buffer.alloc(real.length, 0x61));
    return true;
  });
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

function sync(dest: string, ...args: string[]) {
  return runCli(['sync', 'conda', ...args.slice(0, 1), dest, ...args.slice(1), '--no-progress'], { timeoutMs: 60_000 });
}

function upstreamFile(path: string): Buffer {
  return readFileSync(join(upstream, path));
}

describe('conda channel mirror', () => {
  it('mirrors every subdir from channeldata.json, publishes upstream indexes as-is, is incremental, follows changes', async () => {
    rmSync(upstream, { recursive: true, force: true });
    writeChannel(upstream, { subdirs: pkgs });
    const dest = join(work, 'full');

    const first = await sync(dest, `${server.url}/`);
    expect(first.code, first.stderr).toBe(0);
    expect(checkMirror(dest)).toEqual([]);
    for (const sd of ['noarch', 'linux-64']) {
      for (const f of INDEX_FILES) expect(readFileSync(join(dest, sd, f)).equals(upstreamFile(`${sd}/${f}`)), `${sd}/${f}`).toBe(true);
    }
    expect(readFileSync(join(dest, 'channeldata.json')).equals(upstreamFile('channeldata.json'))).toBe(true);
    expect(walk(dest).filter((f) => /\.(conda|tar\.bz2)$/.test(f))).toHaveLength(8);

    // Unchanged upstream: conditional requests only, nothing downloaded.
    const before = server.requests.length;
    const again = await sync(dest, `${server.url}/`);
    expect(again.code, again.stderr).toBe(0);
    const requested = server.requests.slice(before);
    expect(requested.sort()).toEqual(['/channeldata.json', '/linux-64/repodata.json', '/noarch/repodata.json']);

    // Upstream changes: add, remove, replace (same filename, new bytes).
    const changed = {
      noarch: [pkgs.noarch[0], pkgs.noarch[2], { name: 'setuptools', version: '68.0', format: 'tar.bz2' }] as PackageSpec[],
      'linux-64': [...pkgs['linux-64'].slice(0, 4), { ...pkgs['linux-64'][4], payload: 'rebuilt bytes\n' }],
    };
    rmSync(upstream, { recursive: true, force: true });
    writeChannel(upstream, { subdirs: changed });
    const third = await sync(dest, `${server.url}/`);
    expect(third.code, third.stderr).toBe(0);
    expect(checkMirror(dest)).toEqual([]);
    expect(existsSync(join(dest, 'noarch', 'pip-23.0-h0000000_0.conda'))).toBe(false);
    expect(existsSync(join(dest, 'noarch', 'setuptools-68.0-h0000000_0.tar.bz2'))).toBe(true);
    const replaced = 'linux-64/python-3.11.4-h1_1.tar.bz2';
    expect(readFileSync(join(dest, replaced)).equals(upstreamFile(replaced))).toBe(true);

    // A package whose bytes do not match: not published, repodata not updated, exit 1.
    const publishedBefore = readFileSync(join(dest, 'linux-64', 'repodata.json'));
    writeChannel(upstream, { subdirs: { ...changed, 'linux-64': [...changed['linux-64'], { name: 'openssl', version: '3.1.2', format: 'conda' }] } });
    corrupt.add('/linux-64/openssl-3.1.2-h0000000_0.conda');
    try {
      const bad = await sync(dest, `${server.url}/`);
      expect(bad.code, bad.stderr).toBe(1);
      expect(readFileSync(join(dest, 'linux-64', 'repodata.json')).equals(publishedBefore)).toBe(true);
      expect(existsSync(join(dest, 'linux-64', 'openssl-3.1.2-h0000000_0.conda'))).toBe(false);
      expect(checkMirror(dest)).toEqual([]);
    } finally {
      corrupt.clear();
    }
    // Once upstream serves the right bytes, the next run completes (the cursor did not advance).
    const healed = await sync(dest, `${server.url}/`);
    expect(healed.code, healed.stderr).toBe(0);
    expect(existsSync(join(dest, 'linux-64', 'openssl-3.1.2-h0000000_0.conda'))).toBe(true);
    expect(checkMirror(dest)).toEqual([]);
  });

  it('mirrors just the subdir a URL names, and only the --subdir ones given', async () => {
    rmSync(upstream, { recursive: true, force: true });
    writeChannel(upstream, { subdirs: pkgs });
    const one = join(work, 'one');
    const r = await sync(one, `${server.url}/linux-64/`);
    expect(r.code, r.stderr).toBe(0);
    expect(checkMirror(one)).toEqual([]);
    expect(readdirSync(one).filter((n) => n !== '.mirror').sort()).toEqual(['linux-64']);

    const picked = join(work, 'picked');
    const p = await sync(picked, `${server.url}`, '--subdir', 'noarch');
    expect(p.code, p.stderr).toBe(0);
    expect(checkMirror(picked)).toEqual([]);
    expect(readdirSync(picked).filter((n) => n !== '.mirror').sort()).toEqual(['channeldata.json', 'noarch']);
  });

  it('publishes a rewritten, consistent repodata with --include / --exclude / --keep-latest', async () => {
    rmSync(upstream, { recursive: true, force: true });
    writeChannel(upstream, { subdirs: pkgs });
    const dest = join(work, 'filtered');
    const r = await sync(dest, `${server.url}/`, '--include', 'py*', '--include', 'zlib', '--exclude', 'pip', '--keep-latest', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(checkMirror(dest)).toEqual([]);
    const files = walk(dest).filter((f) => /\.(conda|tar\.bz2)$/.test(f));
    expect(files).toEqual([
      'linux-64/python-3.11.4-h0000000_0.conda',
      'linux-64/python-3.11.4-h1_1.tar.bz2',
      'linux-64/zlib-1.2.13-h0000000_0.conda',
      'linux-64/zlib-1.2.13-h0000000_0.tar.bz2',
    ]);
    // Variants were regenerated (checkMirror compared them with the rewritten repodata.json).
    for (const f of ['repodata.json.bz2', 'repodata.json.zst', 'current_repodata.json']) {
      expect(existsSync(join(dest, 'linux-64', f)), f).toBe(true);
    }
    const noarch = JSON.parse(readFileSync(join(dest, 'noarch', 'repodata.json'), 'utf8'));
    expect(Object.keys(noarch.packages).length + Object.keys(noarch['packages.conda']).length).toBe(0);

    // Widening the filters is a change of shape: a full run, not a 304 shortcut.
    const wide = await sync(dest, `${server.url}/`);
    expect(wide.code, wide.stderr).toBe(0);
    expect(checkMirror(dest)).toEqual([]);
    expect(walk(dest).filter((f) => /\.(conda|tar\.bz2)$/.test(f))).toHaveLength(8);
  });

  it('downloads from info.base_url (repodata v2) and publishes without it', async () => {
    rmSync(upstream, { recursive: true, force: true });
    const spec: ChannelSpec = { subdirs: { noarch: pkgs.noarch }, baseUrl: `${server.url}/cdn/files/`, packagesDir: join(upstream, 'cdn', 'files') };
    writeChannel(upstream, spec);
    // `info` after the package maps: base_url must still apply to every record.
    const file = join(upstream, 'noarch', 'repodata.json');
    const { info, ...rest } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...rest, info }));
    const dest = join(work, 'based');
    const r = await sync(dest, `${server.url}/`);
    expect(r.code, r.stderr).toBe(0);
    expect(checkMirror(dest)).toEqual([]);
    const published = JSON.parse(readFileSync(join(dest, 'noarch', 'repodata.json'), 'utf8'));
    expect(published.info).toEqual({ subdir: 'noarch' });
    expect(Object.keys(published['packages.conda'])).toHaveLength(2);
    expect(server.requests).toContain('/cdn/files/pip-23.1-h0000000_0.conda');
  });

  it('rejects hostile package filenames with a clear problem and keeps the index consistent', async () => {
    rmSync(upstream, { recursive: true, force: true });
    writeChannel(upstream, { subdirs: { noarch: pkgs.noarch } });
    const file = join(upstream, 'noarch', 'repodata.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const rec = Object.values<Record<string, unknown>>(doc['packages.conda'])[0];
    doc['packages.conda']['../../evil-1.0-0.conda'] = rec;
    doc.packages['x-1.0-0.conda'] = rec; // wrong extension for its section
    writeFileSync(file, JSON.stringify(doc));
    unlinkSync(join(upstream, 'noarch', 'repodata.json.bz2'));
    const dest = join(work, 'hostile');
    const r = await sync(dest, `${server.url}/`);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/evil-1\.0-0\.conda.*filename contains "\/"/);
    expect(r.stderr + r.stdout).toMatch(/x-1\.0-0\.conda.*must end in \.tar\.bz2/);
    expect(existsSync(join(work, 'evil-1.0-0.conda'))).toBe(false);
    // The rest is mirrored, under a rewritten index that does not name the rejected files.
    expect(checkMirror(dest)).toEqual([]);
    const published = JSON.parse(readFileSync(join(dest, 'noarch', 'repodata.json'), 'utf8'));
    expect(Object.keys(published['packages.conda']).sort()).toEqual(['pip-23.0-h0000000_0.conda', 'pip-23.1-h0000000_0.conda']);
    expect(Object.keys(published.packages)).toEqual(['tzdata-2023c-h0000000_0.tar.bz2']);
    // Upstream unchanged: the problem is reported again, not hidden behind a 304.
    const again = await sync(dest, `${server.url}/`);
    expect(again.code).toBe(1);
    expect(again.stderr + again.stdout).toMatch(/evil-1\.0-0\.conda/);
  });

  it('fails with a clear error on a malformed repodata.json and a bad --keep-latest', async () => {
    rmSync(upstream, { recursive: true, force: true });
    writeChannel(upstream, { subdirs: { noarch: pkgs.noarch } });
    writeFileSync(join(upstream, 'noarch', 'repodata.json'), '{"info": {}, "packages": {"a-1-0.tar.bz2": {"size": 1,}}}');
    const dest = join(work, 'malformed');
    const r = await sync(dest, `${server.url}/`);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/noarch\/repodata\.json/);
    expect(statSync(dest, { throwIfNoEntry: false }) === undefined || walk(dest).length === 0).toBe(true);

    const usage = await sync(join(work, 'usage'), `${server.url}/`, '--keep-latest', '0');
    expect(usage.code).toBe(2);
    expect(usage.stderr + usage.stdout).toMatch(/keep-latest/);
    const both = await sync(join(work, 'usage'), `${server.url}/noarch`, '--subdir', 'linux-64');
    expect(both.code).toBe(2);
    expect(both.stderr + both.stdout).toMatch(/already names subdir noarch/);
    unlinkSync(join(upstream, 'channeldata.json'));
    const noList = await sync(join(work, 'usage'), `${server.url}/`);
    expect(noList.code).toBe(2);
    expect(noList.stderr + noList.stdout).toMatch(/channeldata\.json not found; pass --subdir/);
  });
});
