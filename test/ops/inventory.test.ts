// `mirror inventory` through the real CLI, checked against independent implementations:
// coreutils sha256sum, b3sum (the BLAKE3 team's Rust tool) and xxhsum.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../helpers/cli.js';

const FILES: Record<string, Buffer> = {
  'a/empty': Buffer.alloc(0),
  'a/b/hello.txt': Buffer.from('hello world\n'),
  'pool/main/ü nï code.deb': Buffer.from('deb payload'),
  // > 1 MiB read chunk and > BLAKE3's 1 KiB chunk tree, to exercise multi-chunk hashing.
  'big/blob.bin': Buffer.from(Array.from({ length: 2_500_000 }, (_, i) => (i * 31 + (i >> 8)) % 251)),
};
for (let i = 0; i < 60; i++) FILES[`many/f${String(i).padStart(2, '0')}`] = Buffer.from(`file ${i}\n`.repeat(i));

/** `TOOL ARGS... FILES...` run once, parsed from its "<hash>  <name>" lines. */
function reference(tool: string, args: string[], root: string): Map<string, string> {
  const text = execFileSync(tool, [...args, ...Object.keys(FILES)], { cwd: root, encoding: 'utf8' });
  const out = new Map<string, string>();
  for (const line of text.trim().split('\n')) {
    const m = /^([0-9a-f]+) [ *]?(.+)$/.exec(line)!;
    out.set(m[2], m[1]);
  }
  expect(out.size).toBe(Object.keys(FILES).length);
  return out;
}

describe('mirror inventory', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'mirror-inv-'));
    for (const [path, data] of Object.entries(FILES)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), data);
    }
    mkdirSync(join(root, '.mirror'));
    writeFileSync(join(root, '.mirror/state.db'), 'private');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('jsonl hashes match sha256sum, b3sum and xxhsum, with a summary', async () => {
    const r = await runCli(['inventory', root, '--algo', 'sha256,blake3,xxh64', '--format', 'jsonl', '--jobs', '2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const files = lines.filter((l) => l.type === 'file');
    const summary = lines.at(-1);
    expect(files.map((f) => f.path)).toEqual(Object.keys(FILES).sort((a, b) => (a < b ? -1 : 1)));
    const sha = reference('sha256sum', [], root);
    const b3 = reference('b3sum', [], root);
    const xxh = reference('xxhsum', ['-H64'], root);
    for (const f of files) {
      expect(f.size, f.path).toBe(FILES[f.path].length);
      expect(f.sha256, f.path).toBe(sha.get(f.path));
      expect(f.blake3, f.path).toBe(b3.get(f.path));
      expect(f.xxh64, f.path).toBe(xxh.get(f.path));
    }
    expect(summary).toMatchObject({ type: 'summary', files: files.length, errors: 0, algorithms: ['sha256', 'blake3', 'xxh64'] });
    expect(summary.bytes).toBe(Object.values(FILES).reduce((n, b) => n + b.length, 0));
  });

  it('writes YAML to a file and signs it with gpg', async () => {
    const gnupg = mkdtempSync(join(tmpdir(), 'mirror-gpg-'));
    const env = { GNUPGHOME: gnupg };
    execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Mirror Test <mirror@example.invalid>', 'ed25519', 'sign', 'never'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const out = join(gnupg, 'inventory.yaml');
    const r = await runCli(['inventory', root, '--format', 'yaml', '--out', out, '--sign', 'mirror@example.invalid', '--no-progress'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const doc = parseYaml(readFileSync(out, 'utf8'));
    const sha = reference('sha256sum', [], root);
    expect(doc.files).toHaveLength(Object.keys(FILES).length);
    for (const f of doc.files) expect(f.sha256, f.path).toBe(sha.get(f.path));
    expect(doc.summary.files).toBe(Object.keys(FILES).length);
    execFileSync('gpg', ['--batch', '--verify', `${out}.asc`, out], { env: { ...process.env, ...env }, stdio: 'ignore' });
    rmSync(gnupg, { recursive: true, force: true });
  });

  it('rejects bad input with a one-line error and exit 2', async () => {
    const bad = await runCli(['inventory', root, '--algo', 'sha256,crc99']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect((await runCli(['inventory', join(root, 'nope')])).code).toBe(2);
    expect((await runCli(['inventory', root, '--sign', 'k'])).code).toBe(2);
  });
});
