// `mirror inventory` through the real CLI, checked against independent references: coreutils
// sha256sum, and the published known-answer vectors of BLAKE3 (the BLAKE3 team's
// test_vectors/test_vectors.json: input byte i is i % 251, first 32 bytes of the output) and of
// XXH64 (xxHash's cli/xsum_sanity_check.c, XSUM_XXH64_testdata at seed 0, over the sanity
// buffer below). Files without a vector are checked against hash-wasm in one shot: that covers
// streaming a file in many reads and matching results to paths, not the algorithm.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { blake3, xxhash64 } from 'hash-wasm';
import { runCli } from '../helpers/cli.js';

/** BLAKE3's test input: byte i is i % 251. */
const blake3Input = (length: number) => Buffer.from(Array.from({ length }, (_, i) => i % 251));

/** xxHash's sanity buffer: a 64-bit generator starting at PRIME32, each byte its top 8 bits. */
function xxhSanityBuffer(length: number): Buffer {
  const out = Buffer.alloc(length);
  let gen = 2654435761n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(gen >> 56n);
    gen = (gen * 11400714785074694797n) & 0xffff_ffff_ffff_ffffn;
  }
  return out;
}

const BLAKE3_VECTORS: Record<string, string> = {
  'a/empty': 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262',
  'kat/blake3-1023': '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11',
  'kat/blake3-1025': 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444',
  'kat/blake3-102400': 'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085',
};
const XXH64_VECTORS: Record<string, string> = {
  'a/empty': 'ef46db3751d8e999',
  'kat/xxh64-1': 'e934a84adb052768',
  'kat/xxh64-14': '8282dcc4994e35c8',
  'kat/xxh64-222': 'b641ae8cb691c174',
};

const FILES: Record<string, Buffer> = {
  'a/empty': Buffer.alloc(0),
  'a/b/hello.txt': Buffer.from('hello world\n'),
  'pool/main/ü nï code.deb': Buffer.from('deb payload'),
  // > 1 MiB read chunk and > BLAKE3's 1 KiB chunk tree, to exercise multi-chunk hashing.
  'big/blob.bin': Buffer.from(Array.from({ length: 2_500_000 }, (_, i) => (i * 31 + (i >> 8)) % 251)),
  'kat/blake3-1023': blake3Input(1023),
  'kat/blake3-1025': blake3Input(1025),
  'kat/blake3-102400': blake3Input(102400),
  'kat/xxh64-1': xxhSanityBuffer(1),
  'kat/xxh64-14': xxhSanityBuffer(14),
  'kat/xxh64-222': xxhSanityBuffer(222),
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

  it('jsonl hashes match sha256sum and the published BLAKE3 and XXH64 vectors, with a summary', async () => {
    const r = await runCli(['inventory', root, '--algo', 'sha256,blake3,xxh64', '--format', 'jsonl', '--jobs', '2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const files = lines.filter((l) => l.type === 'file');
    const summary = lines.at(-1);
    expect(files.map((f) => f.path)).toEqual(Object.keys(FILES).sort((a, b) => (a < b ? -1 : 1)));
    const sha = reference('sha256sum', [], root);
    for (const f of files) {
      expect(f.size, f.path).toBe(FILES[f.path].length);
      expect(f.sha256, f.path).toBe(sha.get(f.path));
      expect(f.blake3, f.path).toBe(BLAKE3_VECTORS[f.path] ?? (await blake3(FILES[f.path])));
      expect(f.xxh64, f.path).toBe(XXH64_VECTORS[f.path] ?? (await xxhash64(FILES[f.path])));
    }
    const byPath = new Map(files.map((f) => [f.path, f]));
    for (const [path, hex] of Object.entries(BLAKE3_VECTORS)) expect(byPath.get(path)?.blake3, path).toBe(hex);
    for (const [path, hex] of Object.entries(XXH64_VECTORS)) expect(byPath.get(path)?.xxh64, path).toBe(hex);
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
