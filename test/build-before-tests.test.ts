// The global setup (test/helpers/build-before-tests.ts) rebuilds dist/ when it is older than
// what it is built from, so a test of the CLI never runs a stale build.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staleReason } from './helpers/build-before-tests.js';

describe('build before tests', () => {
  it('the dist/ these tests run is newer than every source it is built from', () => {
    expect(staleReason()).toBeNull();
  });

  it('calls a build stale when a source file, a deleted file or a missing bundle says so', () => {
    const root = mkdtempSync(join(tmpdir(), 'mirror-stale-'));
    try {
      const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);
      expect(staleReason(root)).toMatch(/dist\/bundle\/cli\.js does not exist/);
      mkdirSync(join(root, 'src/engine'), { recursive: true });
      mkdirSync(join(root, 'dist/bundle'), { recursive: true });
      writeFileSync(join(root, 'src/engine/a.ts'), '');
      writeFileSync(join(root, 'package.json'), '{}');
      writeFileSync(join(root, 'dist/bundle/cli.js'), '');
      for (const p of ['src/engine/a.ts', 'src/engine', 'src', 'package.json']) at(p, 1000);
      at('dist/bundle/cli.js', 2000);
      expect(staleReason(root)).toBeNull();
      at('src/engine/a.ts', 3000);
      expect(staleReason(root)).toBe('src changed since the last build');
      at('src/engine/a.ts', 1000);
      at('src/engine', 3000); // a file removed from src/engine
      expect(staleReason(root)).toBe('src changed since the last build');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
