// A full disk under the mirror (a small tmpfs: a real ENOSPC) while a big file downloads: the
// run ends with a one-line failure and its summary, exit 1, the lock released, the scratch dirs
// and the useless partial removed, and the file is not retried against the network.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runCli } from './helpers/cli.js';
import { ListUpstream } from '../fixtures/list-upstream.js';

let mountPoint: string;
let mounted = false;

beforeAll(() => {
  mountPoint = mkdtempSync(join(tmpdir(), 'mirror-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    console.warn(`disk-full test skipped: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`);
  }
});
afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe('a full disk', () => {
  it('ENOSPC while downloading a file of 4 MiB or more: exit 1 with a summary, lock and scratch gone, no retry', async (ctx) => {
    if (!mounted) return ctx.skip();
    const up = await ListUpstream.start(3);
    try {
      const big = 'pool/big/image.iso';
      up.put({ path: big, content: Buffer.alloc(8 * 1024 * 1024, 5) });
      up.writeLists();
      const dest = join(mountPoint, 'mirror');
      const result = await runCli(['sync', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--no-progress'], { timeoutMs: 60_000 });
      const output = result.stdout + result.stderr;
      expect(result.code, output).toBe(1);
      expect(result.stdout).toMatch(/^failed: downloaded \d+ .* \(run 1\)$/m);
      expect(result.stdout).toMatch(/^error: .*no space left on device/m);
      expect(output).not.toMatch(/network error|retrying/);
      expect(up.server.requests.filter((p) => p === `/${big}`)).toHaveLength(1);
      const priv = join(dest, '.mirror');
      expect(existsSync(join(priv, 'lock'))).toBe(false);
      expect(existsSync(join(priv, 'tmp'))).toBe(false);
      expect(existsSync(join(priv, 'staging'))).toBe(false);
      expect(readdirSync(join(priv, 'partial'))).toEqual([]);
    } finally {
      await up.close();
    }
  });
});
