// syncFilesystem: filesystem syncs through one long-lived shell, with `sync -f` run directly
// whenever the shell cannot answer; it never keeps a process alive once every sync answered.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { syncFilesystem } from '../../src/engine/durable.js';

const dir = mkdtempSync(join(tmpdir(), 'mirror-durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('syncFilesystem', () => {
  it('answers many concurrent syncs, in any number, each caller with its own answer', async () => {
    // Every third path cannot be synced: answers come back in order, so each caller must get
    // the answer to its own path, not its neighbour's.
    const paths = Array.from({ length: 21 }, (_, i) => (i % 3 === 2 ? join(dir, `missing-${i}`) : dir));
    const results = await Promise.allSettled(paths.map((p) => syncFilesystem(p)));
    expect(results.map((r) => r.status)).toEqual(paths.map((p) => (p === dir ? 'fulfilled' : 'rejected')));
    await expect(syncFilesystem(dir)).resolves.toBeUndefined();
  });

  it('rejects with the reason when the path cannot be synced, and keeps working after', async () => {
    await expect(syncFilesystem(join(dir, 'missing'))).rejects.toThrow(/cannot sync the filesystem of .*missing/);
    await expect(syncFilesystem(join(dir, 'with\nnewline'))).rejects.toThrow(/cannot sync the filesystem/);
    await expect(syncFilesystem(dir)).resolves.toBeUndefined();
  });

  it('does not keep the process alive after its syncs', () => {
    const compiled = fileURLToPath(new URL('../../dist/src/engine/durable.js', import.meta.url));
    const script = `const { syncFilesystem } = await import(${JSON.stringify(compiled)}); await syncFilesystem(${JSON.stringify(dir)}); console.log('synced');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    // A helper kept referenced would hold the child until the timeout kills it (status null).
    expect(r.stdout.trim()).toBe('synced');
    expect(r.status).toBe(0);
  });
});
