// The private tree `<dest>/.mirror/` gets the no-follow discipline of the published tree: a
// symlink planted there (the directory itself, a scratch or partial dir, status.json.tmp, the
// manifest, a partial download) is refused with a one-line error before anything is written,
// and whatever it points at stays untouched.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runCli } from './helpers/cli.js';
import { ListUpstream } from '../fixtures/list-upstream.js';

let up: ListUpstream;
let dest: string;
let outside: string;

beforeEach(async () => {
  up = await ListUpstream.start(5);
  dest = join(up.work, 'mirror');
  outside = mkdtempSync(join(tmpdir(), 'mirror-victim-'));
  writeFileSync(join(outside, 'precious.conf'), 'keep me\n');
});
afterEach(async () => {
  await up.close();
  rmSync(outside, { recursive: true, force: true });
});

const sync = () => runCli(['sync', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--no-progress']);
const victim = () => join(outside, 'precious.conf');

function expectRefused(result: { code: number | null; stderr: string }, what: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(what);
  expect(lines[0]).toMatch(/symlink/);
  expect(readdirSync(outside)).toEqual(['precious.conf']);
  expect(readFileSync(victim(), 'utf8')).toBe('keep me\n');
}

describe('symlinks in the private tree', () => {
  it('a symlinked .mirror/partial: the run is refused and the directory it names keeps its files', async () => {
    mkdirSync(join(dest, '.mirror'), { recursive: true });
    symlinkSync(outside, join(dest, '.mirror', 'partial'));
    expectRefused(await sync(), /\.mirror\/partial/);
  });

  it('a symlinked status.json.tmp or manifest.jsonl: refused, the file it names unchanged', async () => {
    expect((await sync()).code).toBe(0);
    for (const name of ['status.json.tmp', 'manifest.jsonl', 'status.json', 'lock', 'state.db']) {
      const planted = join(dest, '.mirror', name);
      rmSync(planted, { force: true });
      symlinkSync(victim(), planted);
      expectRefused(await sync(), new RegExp(`\\.mirror/${name.replace(/\./g, '\\.')}`));
      expectRefused(await runCli(['verify', dest, '--no-progress']), new RegExp(`\\.mirror/${name.replace(/\./g, '\\.')}`));
      rmSync(planted);
    }
  });

  it('a symlink standing for a partial download: refused, the file it names unchanged', async () => {
    const big = 'pool/big/image.iso';
    up.put({ path: big, content: Buffer.alloc(5 * 1024 * 1024, 3) });
    up.writeLists();
    mkdirSync(join(dest, '.mirror', 'partial'), { recursive: true });
    // The partial's name derives from the path: an attacker can predict it.
    const name = createHash('sha256').update(`${up.host}/${big}`).digest('hex').slice(0, 40);
    symlinkSync(victim(), join(dest, '.mirror', 'partial', name));
    expectRefused(await sync(), /\.mirror\/partial\//);
  });

  it('a symlinked .mirror itself: refused', async () => {
    mkdirSync(dest, { recursive: true });
    symlinkSync(outside, join(dest, '.mirror'));
    expectRefused(await sync(), /\.mirror/);
    expect(existsSync(join(outside, 'lock'))).toBe(false);
  });
});
