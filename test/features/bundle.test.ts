// `mirror bundle` / `mirror unbundle` through the real CLI: byte-identical round trip across
// rolling volumes, volumes readable by the stock zstd + tar tools, and a tampered volume that
// is refused without touching the target mirror.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readdirSync, statSync, readFileSync, cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from '../helpers/cli.js';
import { readTree, expectSameTree } from '../helpers/tree.js';

describe('mirror bundle / unbundle', () => {
  let work: string;
  let mirror: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'mirror-bundle-'));
    mirror = join(work, 'mirror');
    const files: Record<string, Buffer> = {
      'index/config.json': Buffer.from('{"dl":"x"}\n'),
      'empty': Buffer.alloc(0),
      [`deep/${'d'.repeat(120)}/${'n'.repeat(110)}-ünïcödé.crate`]: randomBytes(3000),
      'pool/big.deb': randomBytes(150_000), // larger than one volume: gets a volume of its own
    };
    for (let i = 0; i < 40; i++) files[`many/${i}.txt`] = Buffer.from(`line ${i}\n`.repeat(200));
    for (const [p, b] of Object.entries(files)) {
      mkdirSync(join(mirror, p, '..'), { recursive: true });
      writeFileSync(join(mirror, p), b);
    }
    mkdirSync(join(mirror, '.mirror'));
    writeFileSync(join(mirror, '.mirror/private.txt'), 'not bundled');
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('round-trips byte-identical across rolling volumes', async () => {
    const out = join(work, 'out');
    const b = await runCli(['bundle', mirror, '--out', out, '--size', '64K', '--name', 'full']);
    expect(b.code, b.stderr).toBe(0);
    const volumes = readdirSync(out).filter((f) => f.endsWith('.tar.zst')).sort();
    expect(volumes.length).toBeGreaterThan(2);
    const index = JSON.parse(readFileSync(join(out, 'full.bundle.json'), 'utf8'));
    expect(index.volumes.map((v: { file: string }) => v.file)).toEqual(volumes);
    for (const v of volumes) {
      const size = statSync(join(out, v)).size;
      const members = execSync(`zstd -dc ${v} | tar -t`, { cwd: out, encoding: 'utf8' }).trim().split('\n');
      // The stock tools read every volume; its manifest is the last member.
      expect(members.at(-1)).toBe(`.mirror/bundles/${v.replace('.tar.zst', '.json')}`);
      if (!members.includes('pool/big.deb')) expect(size).toBeLessThanOrEqual(64 * 1024);
    }
    const restored = join(work, 'restored');
    const u = await runCli(['unbundle', out, restored]);
    expect(u.code, u.stderr).toBe(0);
    expect(expectSameTree(readTree(mirror), readTree(restored))).toEqual([]);
    expect(statSync(join(restored, 'pool/big.deb')).mtimeMs).toBe(Math.floor(statSync(join(mirror, 'pool/big.deb')).mtimeMs / 1000) * 1000);
    expect(existsSync(join(restored, '.mirror/private.txt'))).toBe(false);
    expect(existsSync(join(restored, '.mirror/bundles/full.bundle.json'))).toBe(true);
  });

  it('refuses a tampered volume and changes nothing', async () => {
    const out = join(work, 'out-tampered');
    const b = await runCli(['bundle', mirror, '--out', out, '--size', '64K', '--name', 't']);
    expect(b.code, b.stderr).toBe(0);
    const victim = join(out, 't.0002.tar.zst');
    const bytes = readFileSync(victim);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(victim, bytes);
    const target = join(work, 'target');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'mine');
    const u = await runCli(['unbundle', join(out, 't.bundle.json'), target]);
    expect(u.code).toBe(1);
    expect(u.stderr).toMatch(/t\.0002\.tar\.zst: .*nothing from this bundle was applied/);
    expect([...readTree(target).keys()]).toEqual(['keep.txt']);
    expect(readdirSync(join(target, '.mirror'))).toEqual([]);
    // --check on the intact copy of the same bundle passes and writes nothing.
    const good = join(work, 'out-good');
    cpSync(join(work, 'out'), good, { recursive: true });
    const c = await runCli(['unbundle', good, target, '--check']);
    expect(c.code, c.stderr).toBe(0);
    expect([...readTree(target).keys()]).toEqual(['keep.txt']);
  });

  it('rejects bad input with exit 2', async () => {
    expect((await runCli(['bundle', mirror])).code).toBe(2);
    expect((await runCli(['bundle', mirror, '--out', join(work, 'x'), '--size', 'lots'])).code).toBe(2);
    expect((await runCli(['unbundle', join(work, 'missing'), join(work, 'y')])).code).toBe(2);
  });
});
