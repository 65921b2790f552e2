// The core engine end to end through the real CLI and the `list` source: full / no-op /
// incremental syncs against the plan's prediction, verify and repair, checksum mismatches,
// SIGKILL mid-run, hostile paths and a concurrent second run.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, readFileSync, readdirSync, writeFileSync, truncateSync, rmSync, mkdirSync, symlinkSync, mkdtempSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { MIRROR_BIN, runCli } from './helpers/cli.js';
import { ListUpstream } from '../fixtures/list-upstream.js';
import { sha256 } from './helpers/fault-server.js';

let up: ListUpstream;
let dest: string;

beforeEach(async () => {
  up = await ListUpstream.start(300);
  dest = join(up.work, 'mirror');
});
afterEach(async () => {
  await up.close();
});

const sync = (...extra: string[]) =>
  runCli(['sync', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--no-progress', '--log-format', 'json', ...extra]);

function db(): Database.Database {
  return new Database(join(dest, '.mirror', 'state.db'), { readonly: true });
}

function lastRun(): Record<string, number | string | null> {
  const d = db();
  try {
    return d.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get() as Record<string, number | string | null>;
  } finally {
    d.close();
  }
}

function cursor(): string | undefined {
  const d = db();
  try {
    return d.prepare('SELECT value FROM cursors').pluck().get() as string | undefined;
  } finally {
    d.close();
  }
}

function expectMirrorMatchesUpstream(): void {
  for (const [path, content] of up.files) {
    const file = up.mirrorPath(dest, path);
    expect(existsSync(file), path).toBe(true);
    expect(sha256(readFileSync(file)), path).toBe(sha256(content));
  }
}

describe('list sync', () => {
  it('mirrors everything, reruns as a no-op, then fetches exactly the delta the plan predicted', async () => {
    const first = await sync();
    expect(first.code, first.stderr).toBe(0);
    expect(lastRun()).toMatchObject({ outcome: 'success', downloaded: 300, failed: 0 });
    expectMirrorMatchesUpstream();
    const verify = await runCli(['verify', dest, '--hash', '--no-progress']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    const requestsBefore = up.server.requests.length;
    const second = await sync();
    expect(second.code).toBe(0);
    expect(lastRun()).toMatchObject({ outcome: 'success', downloaded: 0, kept: 300, deleted: 0 });
    expect(up.server.requests.length).toBe(requestsBefore);

    // Upstream changes one file, removes one, adds one.
    const paths = [...up.files.keys()];
    const changed = Buffer.from('changed content\n'.repeat(100));
    const added = Buffer.from('a brand new file\n'.repeat(77));
    const removedSize = up.files.get(paths[1])!.length;
    up.put({ path: paths[0], content: changed });
    up.remove(paths[1]);
    up.put({ path: 'pool/new/added.bin', content: added });
    up.writeLists();

    const plan = await runCli(['plan', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--json', '--log-level', 'warn']);
    expect(plan.code, plan.stderr).toBe(0);
    const predicted = JSON.parse(plan.stdout);
    expect(predicted.download).toEqual({ files: 2, bytes: changed.length + added.length, unknownSize: 0 });
    expect(predicted.delete).toEqual({ files: 1, bytes: removedSize });
    expect(predicted.keep.files).toBe(298);
    expect(lastRun()).toMatchObject({ downloaded: 0, kept: 300 }); // plan wrote no run

    const third = await sync();
    expect(third.code, third.stderr).toBe(0);
    expect(lastRun()).toMatchObject({ outcome: 'success', downloaded: 2, deleted: 1, kept: 298, bytes: changed.length + added.length });
    expect(existsSync(up.mirrorPath(dest, paths[1]))).toBe(false);
    expectMirrorMatchesUpstream();

    const status = await runCli(['status', dest, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'success', size: { files: 300 } });
    const statusFile = JSON.parse(readFileSync(join(dest, '.mirror', 'status.json'), 'utf8'));
    expect(statusFile).toMatchObject({ status: 'success', size: { files: 300 }, error_msg: null });
  });

  it('verify finds a flipped byte, a truncated file and a missing file; --repair fixes them', async () => {
    expect((await sync()).code).toBe(0);
    const [a, b, c] = [...up.files.keys()];
    const flipped = up.mirrorPath(dest, a);
    const bytes = readFileSync(flipped);
    bytes[10] ^= 0xff;
    writeFileSync(flipped, bytes);
    // Same size, and the mtime the DB recorded: only a re-hash can tell.
    const d = db();
    const recorded = d.prepare('SELECT present_mtime_ms FROM files WHERE path = ?').pluck().get(`${up.host}/${a}`) as number;
    d.close();
    utimesSync(flipped, (recorded + 0.5) / 1000, (recorded + 0.5) / 1000);
    truncateSync(up.mirrorPath(dest, b), 10);
    rmSync(up.mirrorPath(dest, c));

    const fast = await runCli(['verify', dest, '--json', '--no-progress']);
    expect(fast.code).toBe(1);
    const fastReport = JSON.parse(fast.stdout);
    expect(fastReport.problems.map((p: { kind: string }) => p.kind).sort()).toEqual(['missing', 'size']);

    const full = await runCli(['verify', dest, '--hash', '--json', '--no-progress']);
    expect(full.code).toBe(1);
    const report = JSON.parse(full.stdout);
    expect(report.steps.map((s: { name: string }) => s.name)).toEqual(['database', 'stat', 'hash', 'unexpected']);
    expect(report.problems.map((p: { kind: string; path: string }) => `${p.kind} ${p.path}`).sort()).toEqual(
      [`corrupt ${up.host}/${a}`, `missing ${up.host}/${c}`, `size ${up.host}/${b}`].sort(),
    );

    const repair = await runCli(['verify', dest, '--hash', '--repair', '--no-progress']);
    expect(repair.code, repair.stdout + repair.stderr).toBe(0);
    expect(repair.stdout).toMatch(/repair\s+checked 3, problems 0, 3 repaired/);
    expectMirrorMatchesUpstream();
    expect((await runCli(['verify', dest, '--hash', '--no-progress'])).code).toBe(0);
  });

  it('a checksum mismatch leaves nothing at the final path, exits 1, keeps the cursor, and is retried', async () => {
    expect((await sync()).code).toBe(0);
    const goodCursor = cursor();
    const target = 'pool/bad/liar.bin';
    up.put({ path: target, content: Buffer.from('the real bytes\n') });
    // In the same run upstream also replaces an existing file: its new bytes must not go live
    // while the run fails (the old index still describes the old bytes).
    const replaced = [...up.files.keys()][5];
    const oldBytes = up.files.get(replaced)!;
    up.put({ path: replaced, content: Buffer.from('replacement bytes\n') });
    const lies = new Map([[target, 'f'.repeat(64)]]);
    up.writeLists([], lies);

    const bad = await sync();
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/sha256 mismatch/);
    expect(existsSync(up.mirrorPath(dest, target))).toBe(false);
    expect(readFileSync(up.mirrorPath(dest, replaced))).toEqual(oldBytes);
    expect(readdirSync(join(dest, '.mirror')).filter((n) => n === 'tmp' || n === 'staging')).toEqual([]);
    expect(cursor()).toBe(goodCursor);
    expect(lastRun()).toMatchObject({ outcome: 'failed', failed: 1 });

    up.writeLists(); // upstream fixes its checksums
    const good = await sync();
    expect(good.code, good.stderr).toBe(0);
    expect(lastRun()).toMatchObject({ outcome: 'success', downloaded: 2 });
    expect(cursor()).not.toBe(goodCursor);
    expectMirrorMatchesUpstream();
  });

  it('a replacement that fails leaves the old file live, recorded and verified; the next run replaces it', async () => {
    expect((await sync()).code).toBe(0);
    const replaced = [...up.files.keys()][7];
    const key = `${up.host}/${replaced}`;
    const oldBytes = up.files.get(replaced)!;
    up.put({ path: replaced, content: Buffer.from('new bytes, announced with a wrong checksum\n') });
    up.writeLists([], new Map([[replaced, 'e'.repeat(64)]]));

    const bad = await sync();
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/sha256 mismatch/);
    expect(readFileSync(up.mirrorPath(dest, replaced))).toEqual(oldBytes);
    const d = db();
    const row = d.prepare('SELECT state, size, checksums, present_size, error FROM files WHERE path = ?').get(key) as Record<string, string | number>;
    d.close();
    // The row still describes the bytes the live index names, so verify keeps checking them.
    expect(row).toMatchObject({ state: 'present', size: oldBytes.length, present_size: oldBytes.length });
    expect(row.checksums).toContain(sha256(oldBytes));
    expect(row.error).toMatch(/sha256 mismatch/);
    const check = await runCli(['verify', dest, '--hash', '--json', '--no-progress']);
    expect(check.code, check.stdout).toBe(0);
    expect(JSON.parse(check.stdout).steps.find((s: { name: string }) => s.name === 'stat').checked).toBe(up.files.size);

    up.writeLists(); // upstream fixes its checksums
    const good = await sync();
    expect(good.code, good.stderr).toBe(0);
    expect(lastRun()).toMatchObject({ outcome: 'success', downloaded: 1 });
    expectMirrorMatchesUpstream();
  });

  it('a failed run keeps no verified replacement in .mirror/partial (it would only be fetched again)', async () => {
    up.put({ path: 'pool/big/image.iso', content: Buffer.alloc(5 * 1024 * 1024, 1) });
    up.writeLists();
    expect((await sync()).code).toBe(0);
    up.put({ path: 'pool/big/image.iso', content: Buffer.alloc(5 * 1024 * 1024, 2) });
    const small = [...up.files.keys()][0];
    up.put({ path: small, content: Buffer.from('changed\n') });
    up.writeLists([], new Map([[small, 'e'.repeat(64)]]));
    expect((await sync()).code).toBe(1);
    expect(readdirSync(join(dest, '.mirror', 'partial'))).toEqual([]);
    expect(readFileSync(up.mirrorPath(dest, 'pool/big/image.iso'))[0]).toBe(1); // the old bytes stay live

    up.writeLists();
    expect((await sync()).code).toBe(0);
    expectMirrorMatchesUpstream();
  });

  it('refuses hostile paths and never writes through a planted symlink', async () => {
    const base = up.server.url;
    up.writeLists([
      `${base}/a/%2e%2e%2f%2e%2e%2fescape.txt`,
      `${base}/a/..%2Fescape.txt`,
      `${base}/a/%00nul.txt`,
      `${base}/a/back%5Cslash.txt`,
      `${base}/dir/`,
      `${base}/${'x'.repeat(300)}`,
      `${base}/.mirror/../.mirror/state.db`,
      'file:///etc/passwd',
      'not a url at all',
    ]);
    const outside = mkdtempSync(join(tmpdir(), 'mirror-outside-'));
    mkdirSync(join(dest, up.host), { recursive: true });
    symlinkSync(outside, join(dest, up.host, 'pool'));

    const result = await sync();
    expect(result.code).toBe(1);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(up.work, 'escape.txt'))).toBe(false);
    const log = result.stderr;
    expect(log).toMatch(/cannot derive a file path/);
    expect(log).toMatch(/NUL|control character/);
    expect(log).toMatch(/backslash/);
    expect(log).toMatch(/empty path segment/);
    expect(log).toMatch(/longer than 255 bytes/);
    expect(log).toMatch(/is a symlink inside the mirror/);
    rmSync(outside, { recursive: true, force: true });
  });

  it('refuses a second concurrent run on the same mirror', async () => {
    await up.close();
    up = await ListUpstream.start(60, async (_req, res) => {
      await new Promise((r) => setTimeout(r, 100));
      return res.destroyed;
    });
    dest = join(up.work, 'mirror');
    const first = sync('--concurrency', '2');
    for (let i = 0; i < 100 && !existsSync(join(dest, '.mirror', 'lock')); i++) await new Promise((r) => setTimeout(r, 50));
    const second = await sync();
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/another mirror run \(pid \d+/);
    expect((await first).code).toBe(0);
  });

  it('survives SIGKILL mid-run: rerun leaves no tmp files and every file verifies', async () => {
    await up.close();
    up = await ListUpstream.start(200, async () => {
      await new Promise((r) => setTimeout(r, 15));
      return false;
    });
    dest = join(up.work, 'mirror');

    const run = runCli(['sync', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--no-progress', '--concurrency', '4'], {
      onSpawn: (child) => {
        const timer = setInterval(() => {
          const tmp = join(dest, '.mirror', 'tmp');
          if (existsSync(tmp) && readdirSync(tmp).length > 0) {
            clearInterval(timer);
            setTimeout(() => child.kill('SIGKILL'), 300);
          }
        }, 20);
      },
    });
    const result = await run;
    expect(result.signal).toBe('SIGKILL');

    const rerun = await sync();
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(existsSync(join(dest, '.mirror', 'tmp'))).toBe(false);
    expect(existsSync(join(dest, '.mirror', 'lock'))).toBe(false);
    expectMirrorMatchesUpstream();
    const verify = await runCli(['verify', dest, '--hash', '--no-progress']);
    expect(verify.code, verify.stdout).toBe(0);
    const d = db();
    try {
      expect(d.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(d.prepare(`SELECT outcome FROM runs ORDER BY id`).pluck().all()).toEqual(['interrupted', 'success']);
    } finally {
      d.close();
    }
  });

  it('refuses to delete more than --max-delete, re-downloads nothing when upstream recovers, and gc deletes when forced', async () => {
    expect((await sync()).code).toBe(0);
    const fullList = readFileSync(up.listFile, 'utf8');
    const doomed = [...up.files.keys()].slice(0, 45); // 15 % of the mirror
    const truncated = fullList
      .split('\n')
      .filter((line) => !doomed.some((path) => line.endsWith(`/${path}`)))
      .join('\n');
    writeFileSync(up.listFile, truncated);
    const refused = await sync();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to delete 45 of 300 files \(15\.0%\)/);
    for (const path of doomed) expect(existsSync(up.mirrorPath(dest, path))).toBe(true);
    const statusSize = () => JSON.parse(readFileSync(join(dest, '.mirror', 'status.json'), 'utf8')).size.files;
    expect(statusSize()).toBe(255); // the 45 refused files are stale, no longer counted

    writeFileSync(up.listFile, fullList); // upstream's glitch is over
    expect((await sync()).code).toBe(0);
    expect(lastRun()).toMatchObject({ outcome: 'success', downloaded: 0, deleted: 0, kept: 300 });
    expect(statusSize()).toBe(300); // live again without a download

    writeFileSync(up.listFile, truncated);
    expect((await sync()).code).toBe(1);
    const dry = await runCli(['gc', dest, '--dry-run']);
    expect(dry.stdout).toMatch(/45 stale file\(s\)/);
    expect((await runCli(['gc', dest])).code).toBe(1);
    const forced = await runCli(['gc', dest, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/deleted 45 file/);
    for (const path of doomed) expect(existsSync(up.mirrorPath(dest, path))).toBe(false);
    expect((await sync()).code).toBe(0);
    expect(lastRun()).toMatchObject({ outcome: 'success', downloaded: 0, deleted: 0, kept: 255 });
  });

  it('follows upstream when a file becomes a directory and back, and rejects a path that is both', async () => {
    up.put({ path: 'shape/x', content: Buffer.from('x is a file\n') });
    up.writeLists();
    expect((await sync()).code).toBe(0);

    up.remove('shape/x');
    up.put({ path: 'shape/x/inner', content: Buffer.from('x is a directory now\n') });
    up.writeLists();
    const toDir = await sync();
    expect(toDir.code, toDir.stderr).toBe(0);
    expect(readFileSync(up.mirrorPath(dest, 'shape/x/inner'), 'utf8')).toBe('x is a directory now\n');

    up.remove('shape/x/inner');
    rmSync(join(up.root, 'shape/x'), { recursive: true });
    up.put({ path: 'shape/x', content: Buffer.from('x is a file again\n') });
    up.writeLists();
    const toFile = await sync();
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(readFileSync(up.mirrorPath(dest, 'shape/x'), 'utf8')).toBe('x is a file again\n');

    up.writeLists([`${up.server.url}/shape/x/impossible`]);
    const both = await sync();
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/'shape\/x' is a file upstream too|is a file upstream too/);
    expect(lastRun()).toMatchObject({ rejected: 1 });
    expect(readFileSync(up.mirrorPath(dest, 'shape/x'), 'utf8')).toBe('x is a file again\n');
  });

  it('stops cleanly on SIGINT with exit 130, keeping what finished', async () => {
    await up.close();
    up = await ListUpstream.start(200, async () => {
      await new Promise((r) => setTimeout(r, 20));
      return false;
    });
    dest = join(up.work, 'mirror');
    const result = await runCli(['sync', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--no-progress', '--concurrency', '4'], {
      onSpawn: (child) => {
        const timer = setInterval(() => {
          if (up.server.requests.length > 40) {
            clearInterval(timer);
            child.kill('SIGINT');
          }
        }, 10);
      },
    });
    expect(result.code).toBe(130);
    expect(existsSync(join(dest, '.mirror', 'tmp'))).toBe(false);
    expect(lastRun()).toMatchObject({ outcome: 'interrupted' });
    const downloaded = lastRun().downloaded as number;
    expect(downloaded).toBeGreaterThan(0);
    expect(downloaded).toBeLessThan(200);
    const verify = await runCli(['verify', dest, '--hash', '--no-progress']);
    expect(verify.code, verify.stdout).toBe(0);
    const rerun = await sync();
    expect(rerun.code).toBe(0);
    expect(lastRun()).toMatchObject({ downloaded: 200 - downloaded });
  });

  it('refuses a state DB written by a newer version', async () => {
    expect((await sync()).code).toBe(0);
    const d = new Database(join(dest, '.mirror', 'state.db'));
    d.prepare(`INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_future', '2030-01-01')`).run();
    d.close();
    const r = await sync();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/written by a newer mirror \(schema 9999_future\)/);
  });

  it('stops quietly when its reader does (mirror kinds | head -1)', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${MIRROR_BIN}" kinds | head -1`], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/^list /);
    expect(r.stderr).toBe('');
  });

  it('gives one-line errors and exit 2 for bad input', async () => {
    const cases: [string[], RegExp][] = [
      [['sync', 'nosuchkind', 'x', dest], /unknown source kind 'nosuchkind'/],
      [['sync', 'list', join(up.work, 'missing.txt'), dest], /no such file/],
      [['sync', 'list', up.listFile, dest, '--concurrency', 'lots'], /--concurrency takes/],
      [['sync', 'list', up.listFile, dest, '--max-delete', 'some'], /--max-delete takes/],
      [['verify', join(up.work, 'nothing-here')], /is not a mirror/],
      [['frobnicate'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...args, '--no-progress']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
