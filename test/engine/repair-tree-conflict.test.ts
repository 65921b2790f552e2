// `mirror verify --repair` when the file to repair is blocked by the tree on disk: a regular file
// `a` standing where the directory of `a/b.bin` is needed, or a directory standing where a file
// goes. Repair has no publish step, so the blocked file must FAIL (named, exit 1, nothing placed,
// blocker untouched, not counted repaired) and be repaired by the next run once the blocker is gone.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { ListUpstream } from '../../fixtures/list-upstream.js';
import { sha256 } from '../helpers/fault-server.js';

let up: ListUpstream;
let dest: string;

const NESTED = 'a/b.bin';
const FLAT = 'c.bin';

beforeEach(async () => {
  up = await ListUpstream.start(3);
  up.put({ path: NESTED, content: Buffer.from('nested file under a/\n'.repeat(40)) });
  up.put({ path: FLAT, content: Buffer.from('flat file c.bin\n'.repeat(30)) });
  up.writeLists();
  dest = join(up.work, 'mirror');
});
afterEach(async () => {
  await up.close();
});

const sync = () => runCli(['sync', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--no-progress', '--log-format', 'json']);
const repair = () => runCli(['verify', dest, '--repair', '--no-progress', '--log-format', 'json']);

function fileRow(path: string): { state: string; error: string | null } {
  const d = new Database(join(dest, '.mirror', 'state.db'), { readonly: true });
  try {
    return d.prepare('SELECT state, error FROM files WHERE path = ?').get(`${up.host}/${path}`) as { state: string; error: string | null };
  } finally {
    d.close();
  }
}

describe('verify --repair blocked by a tree conflict', () => {
  it('fails a file blocked by a file or a directory in its way, leaves the blockers alone, and repairs once they are gone', async () => {
    const first = await sync();
    expect(first.code, first.stderr).toBe(0);
    const total = up.files.size;

    // A file `a` where the directory of a/b.bin is needed; a directory where c.bin goes.
    const dirA = up.mirrorPath(dest, 'a');
    rmSync(dirA, { recursive: true });
    writeFileSync(dirA, 'operator notes, not part of the mirror\n');
    const flat = up.mirrorPath(dest, FLAT);
    rmSync(flat);
    mkdirSync(flat);
    writeFileSync(join(flat, 'inside'), 'someone else\'s file\n');

    const blocked = await repair();
    const out = blocked.stdout + blocked.stderr;
    expect(blocked.code, out).toBe(1);
    // Both were found missing, neither is counted repaired.
    expect(blocked.stdout, out).toMatch(/^repair\s+checked 2, problems 2, 0 repaired$/m);
    // One clear line per blocked file, naming it.
    const errors = blocked.stderr
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { level: number; msg: string; path?: string })
      .filter((l) => l.level >= 50);
    expect(errors.map((e) => e.path).sort(), out).toEqual([`${up.host}/${NESTED}`, `${up.host}/${FLAT}`].sort());
    for (const e of errors) expect(e.msg, out).toMatch(new RegExp(`^cannot place ${up.host}/(a/b|c)\\.bin: .+`));
    // The blockers are untouched, nothing was placed, no downloaded file lingers in scratch.
    expect(readFileSync(dirA, 'utf8')).toBe('operator notes, not part of the mirror\n');
    expect(lstatSync(flat).isDirectory()).toBe(true);
    expect(readdirSync(flat)).toEqual(['inside']);
    expect(readFileSync(join(flat, 'inside'), 'utf8')).toBe('someone else\'s file\n');
    expect(existsSync(join(dest, '.mirror', 'tmp'))).toBe(false);
    expect(blocked.stdout).toContain('verify: PROBLEMS FOUND');
    // The DB keeps them missing (with the reason), so `mirror status` does not count them and the
    // next verify or sync retries them.
    for (const path of [NESTED, FLAT]) expect(fileRow(path), path).toMatchObject({ state: 'missing', error: expect.stringContaining('cannot place') });
    const status = await runCli(['status', dest, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).size.files).toBe(total - 2);

    // The blockers go: the next repair places both, verified.
    rmSync(dirA);
    rmSync(flat, { recursive: true });
    const fixed = await repair();
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/^repair\s+checked 2, problems 0, 2 repaired$/m);
    for (const path of [NESTED, FLAT]) {
      expect(sha256(readFileSync(up.mirrorPath(dest, path))), path).toBe(sha256(up.files.get(path)!));
      expect(fileRow(path)).toEqual({ state: 'present', error: null });
    }
    expect(fixed.stdout).toContain('verify: ok');
    // status.json (rewritten by verify) counts them again.
    expect(JSON.parse(readFileSync(join(dest, '.mirror', 'status.json'), 'utf8')).size.files).toBe(total);
  });

  it('a file whose repair failed stays missing: the next verify reports it and repairs it', async () => {
    expect((await sync()).code).toBe(0);
    const content = up.files.get(FLAT)!;
    rmSync(up.mirrorPath(dest, FLAT));
    up.remove(FLAT); // upstream answers 404 for now; urls.txt still lists it

    const failed = await repair();
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    expect(failed.stdout).toMatch(/^repair\s+checked 1, problems 1, 0 repaired$/m);

    const again = await runCli(['verify', dest, '--no-progress']);
    expect(again.code, again.stdout + again.stderr).toBe(1);
    expect(again.stdout).toContain(`missing    ${up.host}/${FLAT}: not on disk`);

    up.put({ path: FLAT, content });
    const fixed = await repair();
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/^repair\s+checked 1, problems 0, 1 repaired$/m);
    expect(readFileSync(up.mirrorPath(dest, FLAT)).equals(content)).toBe(true);
  });
});
