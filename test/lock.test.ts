// The mirror lock through the real CLI: a lock left by a killed run is taken over by exactly one
// of many runs started at once, and a lock whose PID now belongs to another live process (a
// reused PID: same number, another start time) is taken over instead of blocking forever.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliResult } from './helpers/cli.js';
import { ListUpstream } from '../fixtures/list-upstream.js';

let up: ListUpstream;
let dest: string;
const lockFile = () => join(dest, '.mirror', 'lock');

beforeEach(async () => {
  // Slow answers: a run holds the lock for seconds, long after every other run started.
  up = await ListUpstream.start(30, async () => {
    await new Promise((r) => setTimeout(r, 100));
    return false;
  });
  dest = join(up.work, 'mirror');
});
afterEach(async () => {
  await up.close();
});

const sync = () => runCli(['sync', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--no-progress', '--concurrency', '1']);

/** Leaves the lock of a real run killed mid-run (SIGKILL) and returns its parsed content. */
async function killedRunLock(): Promise<Record<string, unknown>> {
  const run = runCli(['sync', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--no-progress', '--concurrency', '1'], {
    onSpawn: (child) => {
      const timer = setInterval(() => {
        if (existsSync(lockFile()) && readFileSync(lockFile(), 'utf8').endsWith('\n')) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 20);
    },
  });
  expect((await run).signal).toBe('SIGKILL');
  return JSON.parse(readFileSync(lockFile(), 'utf8')) as Record<string, unknown>;
}

describe('mirror lock', () => {
  it('many runs started at once against a stale lock: exactly one takes it over', async () => {
    await killedRunLock();
    // A lock padded with whitespace (still the same JSON) takes a while to read: it widens the
    // window in which a run that judged it stale could remove a lock another run just took.
    appendFileSync(lockFile(), ' '.repeat(32 * 1024 * 1024));
    const results: CliResult[] = await Promise.all(Array.from({ length: 8 }, () => sync()));
    const proceeded = results.filter((r) => r.code === 0);
    const refused = results.filter((r) => r.code === 2);
    expect(proceeded.length, results.map((r) => `${r.code}: ${r.stderr.trim().split('\n').pop()}`).join('\n')).toBe(1);
    expect(refused).toHaveLength(results.length - 1);
    for (const r of refused) expect(r.stderr).toMatch(/another mirror run/);
    expect(existsSync(lockFile())).toBe(false);
  });

  it('a stale lock naming a live but unrelated process (a reused PID) is taken over', async () => {
    const lock = await killedRunLock();
    const unrelated: ChildProcess = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(lockFile(), JSON.stringify({ ...lock, pid: unrelated.pid }) + '\n');
      const result = await sync();
      expect(result.code, result.stderr).toBe(0);
      expect(existsSync(lockFile())).toBe(false);
      expect(unrelated.exitCode).toBeNull(); // left alone
    } finally {
      unrelated.kill();
    }
  });
});
