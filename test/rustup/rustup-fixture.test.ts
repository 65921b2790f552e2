// The fixture dist server is format-exact: the machine's real rustup installs every kind of
// toolchain from it directly. (The mirror's tests then ask the same of the mirror.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropKey, makeKey, type ArchiveKey } from '../../fixtures/apt-archive.js';
import { findRustup, RustDist, rustupClient } from '../../fixtures/rust-dist.js';
import { serveDir, type StaticServer } from '../helpers/static-server.js';
import { expectInstalls, INITIAL, NIGHTLIES } from './rustup-client.js';

const rustup = findRustup();
if (!rustup) console.warn('SKIPPED rustup fixture test: no `rustup` on PATH (CI images ship one; install it from https://rustup.rs)');

describe.skipIf(!rustup)('rustup fixture dist server', () => {
  let dir: string;
  let key: ArchiveKey;
  let up: StaticServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rustup-fixture-'));
    key = await makeKey(join(dir, 'key'), 'Rust Fixture Signing');
    const dist = RustDist.create(join(dir, 'upstream'), key);
    for (const r of INITIAL) await dist.publish(r);
    up = await serveDir(dist.root);
  });

  afterAll(async () => {
    await up?.close();
    if (key) await dropKey(key);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('real rustup installs stable, 1.90, 1.90.0, beta, nightly, a dated minimal nightly, rust-src and a second target', async () => {
    const client = await rustupClient(join(dir, 'client'), up.url, rustup!);
    await expectInstalls(client, NIGHTLIES[2], NIGHTLIES[0]);
    // rustup read only xz archives and never a component .sha256 or a signature.
    const archives = up.requests.filter((p) => p.includes('.tar.'));
    expect(archives.length).toBeGreaterThan(0);
    expect(archives.every((p) => p.endsWith('.tar.xz'))).toBe(true);
  });
});
