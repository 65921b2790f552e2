// Benchmark: planning a conda subdir whose repodata.json has 300,000 records (~300 MB).
//
// Generates the repodata once (cached under .bench/conda), serves it on 127.0.0.1, and
// measures, each in its own child process: the baseline (plain JSON.parse of the whole file),
// the streaming scanner alone, and the real CLI `mirror plan conda ...` (discover + diff into the
// DB + plan). Reports wall time and peak RSS (/usr/bin/time) with ratios against the baseline,
// best of two interleaved rounds (the machine is shared). Also
// times an unchanged rerun of a synced small channel against the CLI's bare startup.
// Targets: plan <= 15 s, peak RSS <= 400 MB.
// Usage: node dist/test/bench/conda.bench.js [records]
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { serveDir } from '../helpers/static-server.js';
import { writeChannel } from '../../fixtures/conda-channel.js';
import { cacheDir, MIRROR_BIN, timed, timedOk, type Timed } from './bench-util.js';

const RECORDS = Number(process.argv[2] ?? 300_000);
const SCANNER = fileURLToPath(new URL('../../src/sources/conda/repodata-scanner.js', import.meta.url));

function hex(seed: string, algo: 'sha256' | 'md5'): string {
  return createHash(algo).update(seed).digest('hex');
}

/** A record shaped like conda-forge's: ~1 KB with a dozen dependencies. */
function record(i: number, conda: boolean) {
  const name = `pkg${i % 40_000}`;
  const version = `${1 + (i % 7)}.${Math.floor(i / 40_000)}.${i % 13}`;
  const build = `py${310 + (i % 4)}h${hex(`b${i}`, 'md5').slice(0, 7)}_${i % 3}`;
  const filename = `${name}-${version}-${build}${conda ? '.conda' : '.tar.bz2'}`;
  const rec = {
    build,
    build_number: i % 3,
    constrains: [`${name}-base ==${version}`, 'libblas * *netlib'],
    depends: [
      'libgcc-ng >=12',
      'libstdcxx-ng >=12',
      `python >=3.${10 + (i % 4)},<3.${11 + (i % 4)}.0a0`,
      'python_abi 3.11.* *_cp311',
      'numpy >=1.23.5,<2.0a0',
      `pkg${(i * 7) % 40_000} >=1.0`,
      `pkg${(i * 13) % 40_000}`,
      'openssl >=3.1.2,<4.0a0',
      'zlib >=1.2.13,<1.3.0a0',
      'libzlib >=1.2.13,<2.0.0a0',
    ],
    license: 'BSD-3-Clause AND MIT AND Apache-2.0',
    arch: 'x86_64',
    platform: 'linux',
    license_family: 'BSD',
    md5: hex(`m${i}`, 'md5'),
    name,
    sha256: hex(`s${i}`, 'sha256'),
    size: 10_000 + ((i * 7919) % 5_000_000),
    subdir: 'linux-64',
    timestamp: 1_690_000_000_000 + i * 1000,
    version,
  };
  return [filename, rec] as const;
}

async function generate(file: string): Promise<void> {
  if (existsSync(file)) return;
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('{\n  "info": {\n    "subdir": "linux-64"\n  },\n');
  for (const [section, conda] of [['packages', false], ['packages.conda', true]] as const) {
    await write(`  "${section}": {\n`);
    const start = conda ? Math.floor(RECORDS / 2) : 0;
    const end = conda ? RECORDS : Math.floor(RECORDS / 2);
    for (let i = start; i < end; i++) {
      const [filename, rec] = record(i, conda);
      const body = JSON.stringify(rec, null, 2).replace(/\n/g, '\n    ');
      await write(`    ${JSON.stringify(filename)}: ${body}${i + 1 < end ? ',' : ''}\n`);
    }
    await write('  },\n');
  }
  await write('  "removed": [],\n  "repodata_version": 1\n}\n');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  await rename(tmp, file);
}

type Measured = Timed;
const NODE = process.execPath;

const BASELINE = `
const t = Date.now();
const doc = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
const n = Object.keys(doc.packages).length + Object.keys(doc['packages.conda']).length;
console.log('records', n, 'ms', Date.now() - t);
`;

const SCAN_ONLY = `
import(process.argv[2]).then(async ({ scanRepodata, rawText }) => {
  const t = Date.now();
  let n = 0, bytes = 0;
  await scanRepodata(process.argv[1], { onRecord: (_s, _k, raw) => { const r = JSON.parse(rawText(raw)); bytes += r.size; n++; } });
  console.log('records', n, 'ms', Date.now() - t);
});
`;

/** Best (lowest time) of `rounds` runs; runs of different commands are interleaved by the caller. */
function best(a: Measured, b: Measured | undefined): Measured {
  if (!b) return a;
  const maxRssMb = Math.max(a.maxRssMb, b.maxRssMb);
  return a.seconds <= b.seconds ? { ...a, maxRssMb } : { ...b, maxRssMb };
}

function row(label: string, m: Measured, base: Measured): string {
  return (
    `${label.padEnd(46)} ${m.seconds.toFixed(2).padStart(7)} s  ${m.maxRssMb.toFixed(0).padStart(5)} MB peak RSS` +
    `   (time x${(m.seconds / base.seconds).toFixed(2)}, RSS x${(m.maxRssMb / base.maxRssMb).toFixed(2)} vs baseline)`
  );
}

/** A synced small channel rerun against an unchanged upstream: conditional GETs only. */
async function unchangedRerun(work: string): Promise<{ rerun: Measured; startup: Measured; requests: string[] }> {
  const root = join(work, 'small');
  const specs = Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, version: `1.${i}`, format: i % 2 ? 'conda' : 'tar.bz2' }) as const);
  writeChannel(root, { subdirs: { noarch: specs.slice(0, 10), 'linux-64': specs.slice(10) } });
  const server = await serveDir(root);
  try {
    const dest = join(work, 'small-dest');
    await timedOk('first sync', NODE, [MIRROR_BIN, 'sync', 'conda', `${server.url}/`, dest, '--no-progress']);
    const before = server.requests.length;
    const rerun = await timedOk('rerun', NODE, [MIRROR_BIN, 'sync', 'conda', `${server.url}/`, dest, '--no-progress']);
    const startup = await timed(NODE, [MIRROR_BIN, '--version']);
    return { rerun, startup, requests: server.requests.slice(before) };
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  const channel = join(cacheDir('conda'), `channel-v2-${RECORDS}`);
  const file = join(channel, 'linux-64', 'repodata.json');
  await mkdir(join(channel, 'linux-64'), { recursive: true });
  const t0 = Date.now();
  await generate(file);
  const size = (await stat(file)).size;
  console.log(`conda bench: ${RECORDS} records, repodata.json ${(size / 1e6).toFixed(0)} MB (ready in ${Date.now() - t0} ms)`);
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores (best of 2 interleaved rounds)`);

  const server = await serveDir(channel);
  const work = await mkdtemp(join(tmpdir(), 'mirror-bench-conda-run-'));
  try {
    let baseline: Measured | undefined;
    let scan: Measured | undefined;
    let plan: Measured | undefined;
    for (let round = 0; round < 2; round++) {
      baseline = best(await timed(NODE, ['-e', BASELINE, file]), baseline);
      scan = best(await timed(NODE, ['--input-type=module', '-e', SCAN_ONLY, file, SCANNER]), scan);
      const p = await timedOk('mirror plan', NODE, [MIRROR_BIN, 'plan', 'conda', `${server.url}/`, join(work, 'dest'), '--subdir', 'linux-64', '--no-progress']);
      plan = best(p, plan);
    }
    console.log(row('JSON.parse whole file (baseline)', baseline!, baseline!));
    console.log(row('streaming scanner + per-record JSON.parse', scan!, baseline!));
    console.log(row('mirror plan conda (real CLI, discover + plan)', plan!, baseline!));
    const ok = plan!.seconds <= 15 && plan!.maxRssMb <= 400;
    console.log(`targets (plan <= 15 s, RSS <= 400 MB): ${ok ? 'met' : 'MISSED'}`);
    console.log(`plan throughput: ${(size / 1e6 / plan!.seconds).toFixed(0)} MB/s, ${(RECORDS / plan!.seconds).toFixed(0)} records/s`);

    const { rerun, startup, requests } = await unchangedRerun(work);
    console.log(row('mirror --version (startup baseline)', startup, startup));
    console.log(row('unchanged rerun: mirror sync conda (2 subdirs)', rerun, startup));
    console.log(`unchanged rerun requests: ${requests.sort().join(' ')}`);
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
