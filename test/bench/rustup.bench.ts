// Benchmark: a Rust dist server at real scale. 120 days of nightlies (BENCH_RUSTUP_DAYS), each
// manifest naming 90 targets (BENCH_RUSTUP_TARGETS) x 20 packages, as static.rust-lang.org's
// do (~1 MB each); the manifests are generated once (cached under .bench/rustup), the archives
// are tiny bodies the local server makes up from their path (their sha256 is in the manifests).
//
// Measures with the real CLI, each in a child process with peak RSS:
//   - plan: `mirror plan rustup --target all --keep-nightly <days>` (every archive of every day);
//   - baseline: fetching and parsing the same manifests alone (undici fetch + smol-toml);
//   - first sync of two host targets, then the no-op rerun, then the rerun after upstream
//     published one more day (one-day delta).
// Targets: no-op <= 1 s; plan <= 2 x baseline.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { serveDir } from '../helpers/static-server.js';
import { cacheDir, MIRROR_BIN, ratio, timed, timedOk, type Timed } from './bench-util.js';

const DAYS = Number(process.env.BENCH_RUSTUP_DAYS ?? 120);
const TARGETS = Number(process.env.BENCH_RUSTUP_TARGETS ?? 90);
const NODE = process.execPath;
const PACKAGES = ['cargo', 'clippy-preview', 'llvm-bitcode-linker-preview', 'llvm-tools-preview', 'miri-preview', 'rls-preview', 'rust', 'rust-analysis', 'rust-analyzer-preview', 'rust-docs', 'rust-docs-json-preview', 'rust-mingw', 'rust-std', 'rustc', 'rustc-codegen-cranelift-preview', 'rustc-dev', 'rustc-docs', 'rustfmt-preview', 'reproducible-artifacts'];
const ARCHES = ['x86_64', 'aarch64', 'i686', 'armv7', 'riscv64gc', 'powerpc64le', 's390x', 'loongarch64', 'mips64', 'thumbv7em', 'wasm32', 'sparcv9', 'arm', 'i586', 'powerpc'];
const SYSTEMS = ['unknown-linux-gnu', 'unknown-linux-musl', 'pc-windows-msvc', 'apple-darwin', 'unknown-freebsd', 'unknown-none'];
const SYNC_TARGETS = ['x86_64-unknown-linux-gnu', 'aarch64-unknown-linux-gnu'];

function triples(): string[] {
  const out: string[] = [];
  for (const sys of SYSTEMS) for (const arch of ARCHES) if (out.length < TARGETS) out.push(`${arch}-${sys}`);
  return out;
}

function day(i: number): string {
  return new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
}

/** The tiny body the server makes up for an archive path; its sha256 goes into the manifest. */
function body(path: string): string {
  return `archive ${path}\n`;
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function manifest(date: string): string {
  const targets = triples();
  const hosts = new Set(targets.filter((t, i) => i % 3 === 0 || t.startsWith('x86_64-') || t.startsWith('aarch64-')));
  const out = [`manifest-version = "2"`, `date = "${date}"`];
  for (const pkg of PACKAGES) {
    out.push('', `[pkg.${pkg}]`, `version = "1.95.0-nightly (0123456789 ${date})"`);
    for (const t of targets) {
      const available = pkg === 'rust-std' || (hosts.has(t) && (pkg !== 'rust-mingw' || t.includes('windows')));
      out.push('', `[pkg.${pkg}.target.${t}]`, `available = ${available}`);
      if (!available) continue;
      const base = `dist/${date}/${pkg}-nightly-${t}`;
      out.push(`url = "https://static.rust-lang.org/${base}.tar.gz"`, `hash = "${sha(body(`${base}.tar.gz`))}"`);
      out.push(`xz_url = "https://static.rust-lang.org/${base}.tar.xz"`, `xz_hash = "${sha(body(`${base}.tar.xz`))}"`);
    }
  }
  out.push('', '[pkg.rust-src]', `version = "1.95.0-nightly"`, '', '[pkg.rust-src.target."*"]', 'available = true');
  const src = `dist/${date}/rust-src-nightly`;
  out.push(`url = "https://static.rust-lang.org/${src}.tar.gz"`, `hash = "${sha(body(`${src}.tar.gz`))}"`);
  out.push(`xz_url = "https://static.rust-lang.org/${src}.tar.xz"`, `xz_hash = "${sha(body(`${src}.tar.xz`))}"`);
  out.push('', '[profiles]', 'minimal = ["rustc", "cargo", "rust-std", "rust-mingw"]', '', '[renames.clippy]', 'to = "clippy-preview"');
  return out.join('\n') + '\n';
}

function writeWithSha(root: string, rel: string, text: string): void {
  const file = join(root, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  writeFileSync(`${file}.sha256`, `${sha(text)}  ${rel.slice(rel.lastIndexOf('/') + 1)}\n`);
}

/** Publishes days [0, days) (cached): dated manifests, the head, manifests.txt. */
function publishDays(root: string, days: number): void {
  const lines: string[] = [];
  let text = '';
  for (let i = 0; i < days; i++) {
    const rel = `dist/${day(i)}/channel-rust-nightly.toml`;
    lines.push(`static.rust-lang.org/${rel}`);
    if (!existsSync(join(root, `${rel}.sha256`)) || i === days - 1) {
      text = manifest(day(i));
      writeWithSha(root, rel, text);
    }
  }
  if (!text) text = manifest(day(days - 1));
  writeWithSha(root, 'dist/channel-rust-nightly.toml', text);
  writeFileSync(join(root, 'manifests.txt'), lines.join('\n') + '\n');
}

const BASELINE = `
import(process.argv[2]).then(async ({ parse }) => {
  const [base, days] = [process.argv[1], Number(process.argv[3])];
  let n = 0;
  for (let i = 0; i < days; i++) {
    const date = new Date(Date.UTC(2026, 0, 1) + i * 86400000).toISOString().slice(0, 10);
    const text = await (await fetch(base + '/dist/' + date + '/channel-rust-nightly.toml')).text();
    const doc = parse(text);
    for (const pkg of Object.values(doc.pkg)) n += Object.keys(pkg.target).length;
  }
  console.log('package targets', n);
});
`;

function row(label: string, m: Timed, base: Timed): string {
  return `${label.padEnd(52)} ${m.seconds.toFixed(2).padStart(7)} s  ${m.maxRssMb.toFixed(0).padStart(5)} MB peak RSS   (x${(m.seconds / base.seconds).toFixed(2)} time vs baseline)`;
}

async function main(): Promise<void> {
  const root = join(cacheDir('rustup'), `dist-${TARGETS}`);
  const t0 = Date.now();
  publishDays(root, DAYS);
  console.log(`rustup bench: ${DAYS} nightlies x ${TARGETS} targets x ${PACKAGES.length + 1} packages (ready in ${Date.now() - t0} ms)`);
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
  const server = await serveDir(root, (req, res) => {
    const path = decodeURIComponent((req.url ?? '/').slice(1));
    if (!/\.tar\.(xz|gz)$/.test(path)) return false;
    const text = body(path);
    res.writeHead(200, { 'content-length': Buffer.byteLength(text) }).end(text);
    return true;
  });
  const work = await mkdtemp(join(tmpdir(), 'mirror-bench-rustup-'));
  const smolToml = join(MIRROR_BIN, '..', '..', 'node_modules', 'smol-toml', 'dist', 'index.js');
  const common = ['--channel', 'nightly', '--keep-nightly', String(DAYS + 1), '--no-progress'];
  try {
    const baseline = await timedOk('baseline', NODE, ['--input-type=module', '-e', BASELINE, server.url, smolToml, String(DAYS)]);
    const plan = await timedOk('mirror plan', NODE, [MIRROR_BIN, 'plan', 'rustup', server.url, join(work, 'plan-dest'), '--target', 'all', ...common]);
    console.log(row('fetch + parse every manifest (baseline)', baseline, baseline));
    console.log(row(`mirror plan rustup --target all`, plan, baseline));

    const dest = join(work, 'dest');
    const targets = [...SYNC_TARGETS.flatMap((t) => ['--target', t]), '--max-delete', '100%'];
    const first = await timedOk('first sync', NODE, [MIRROR_BIN, 'sync', 'rustup', server.url, dest, ...targets, ...common]);
    const noop = await timedOk('no-op sync', NODE, [MIRROR_BIN, 'sync', 'rustup', server.url, dest, ...targets, ...common]);
    const startup = await timed(NODE, [MIRROR_BIN, '--version']);
    publishDays(root, DAYS + 1);
    server.requests.length = 0;
    const delta = await timedOk('one-day delta', NODE, [MIRROR_BIN, 'sync', 'rustup', server.url, dest, ...targets, ...common]);
    const archives = server.requests.filter((p) => p.includes('.tar.')).length;
    console.log(row(`first sync, ${SYNC_TARGETS.length} targets`, first, baseline));
    console.log(`${'no-op rerun'.padEnd(52)} ${noop.seconds.toFixed(2).padStart(7)} s  ${noop.maxRssMb.toFixed(0).padStart(5)} MB peak RSS   (mirror --version: ${startup.seconds.toFixed(2)} s)`);
    console.log(row(`one-day delta (${archives} archives fetched)`, delta, baseline));
    const ok = noop.seconds <= 1 && plan.seconds <= 2 * baseline.seconds;
    console.log(`targets (no-op <= 1 s: ${noop.seconds.toFixed(2)} s; plan <= 2x baseline: ${ratio(plan.seconds, baseline.seconds)}): ${ok ? 'met' : 'MISSED'}`);
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
    // Leave the cache at DAYS days for the next run.
    rmSync(join(root, 'dist', day(DAYS)), { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
