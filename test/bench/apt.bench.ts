// apt benchmark: `mirror sync apt` against Debian's debmirror on the same local signed archive
// (tiny .debs built with dpkg-deb / apt-ftparchive / gpg and cached under .bench/), served by
// the same static server. Both verify the Release signature with gpgv and mirror the same
// selection (one suite, main, amd64, binaries). Measured: first sync into an empty directory
// and the no-op rerun, wall time and peak RSS, each the median of BENCH_REPEAT (default 3)
// rounds, the order of the two tools alternating between rounds. debmirror is installed with apt-get when missing (the bench
// only; never the tests).
//
// Archive sizes: the issue's 400 packages always; BENCH_APT_PACKAGES=5000 (or a list,
// 2000,5000) adds larger archives, where debmirror's no-op rereads every Packages file and stats
// the whole pool while mirror's should not grow. The ratios of every size are printed at the end.
//
// Opt-in, over the network: BENCH_APT_UPSTREAM="http://deb.debian.org/debian bookworm-updates"
// runs both tools against that real suite (main, amd64) with the Debian archive keyring, the
// order of the two tools alternating between rounds (the first fetch warms a CDN's cache).
// debmirror checks only Release.gpg; when upstream's Release.gpg does not verify (deb.debian.org
// served one signing an older Release in November 2026), it refuses the suite while mirror uses
// the good InRelease, so debmirror then runs with --ignore-release-gpg, and the output says so.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { aptClient, buildArchive, dropKey, listFiles, makeKey, type ArchiveKey, type FixturePackage } from '../../fixtures/apt-archive.js';
import { serveDir } from '../helpers/static-server.js';
import { cacheDir, CACHE, MIRROR_BIN, ratio, REPEAT, serveInChild, timed, timedOk, type Timed } from './bench-util.js';

const ISSUE_SIZE = 400;
const sizes = [...new Set([ISSUE_SIZE, ...(process.env.BENCH_APT_PACKAGES ?? '').split(',').filter(Boolean).map(Number)])];
if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BENCH_APT_PACKAGES takes package counts like 5000 or 2000,5000`);

function ensureDebmirror(): void {
  if (spawnSync('sh', ['-c', 'command -v debmirror'], { stdio: 'ignore' }).status === 0) return;
  process.stdout.write('installing debmirror (apt-get install debmirror)…\n');
  execFileSync('apt-get', ['install', '-y', '-qq', 'debmirror'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function corpus(count: number): FixturePackage[] {
  // Deterministic sizes from 1 KiB to ~60 KiB; a quarter of the packages are arch:all, some lib*.
  const out: FixturePackage[] = [];
  let seed = 2026;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < count; i++) {
    const name = `${i % 5 === 0 ? 'lib' : ''}pkg${String(i).padStart(4, '0')}`;
    out.push({ name, version: `1.${i % 7}`, arch: i % 4 === 0 ? 'all' : 'amd64', payloadBytes: 1024 + (next() % 60_000) });
  }
  return out;
}

interface Comparison {
  /** What was mirrored, for the summary ("400 packages", "<url> <suite> (38 pool files)"). */
  label: string;
  first: { deb: Timed; mir: Timed };
  noop: { deb: Timed; mir: Timed };
}

const median = (ts: Timed[]) => [...ts].sort((a, b) => a.seconds - b.seconds)[Math.floor(ts.length / 2)];

/** mirror's own summary line says how long the run took inside the process ("... in 0.1s"). */
function inside(t: Timed): string {
  const m = / in ([\d.]+)s \(run \d+\)/.exec(t.stdout + t.stderr);
  return m ? `  (run itself ${m[1]} s)` : '';
}

function line(name: string, t: Timed): string {
  return `${name.padEnd(30)} ${t.seconds.toFixed(2).padStart(7)} s  peak RSS ${t.maxRssMb.toFixed(0).padStart(4)} MB${name.startsWith('mirror') ? inside(t) : ''}`;
}

/**
 * Runs both tools REPEAT rounds: each round a first sync into emptied destinations, then the
 * no-op rerun, the order of the tools alternating between rounds so that neither always gets
 * the warmer page cache (or CDN) or the quieter moment. `debFirst`, when given, is a debmirror
 * first sync already made into its destination: it counts as round 0's. Prints the medians.
 */
async function compare(
  deb: () => Promise<Timed>,
  mir: () => Promise<Timed>,
  dests: { deb: string; mir: string },
  debFirst?: Timed,
): Promise<Omit<Comparison, 'label'>> {
  const runs = { debFirst: [] as Timed[], mirFirst: [] as Timed[], debNoop: [] as Timed[], mirNoop: [] as Timed[] };
  for (let i = 0; i < REPEAT; i++) {
    const done = i === 0 && debFirst;
    if (done) runs.debFirst.push(debFirst);
    else rmSync(dests.deb, { recursive: true, force: true });
    rmSync(dests.mir, { recursive: true, force: true });
    const pair = i % 2 === 0 ? [deb, mir] : [mir, deb];
    for (const run of pair) if (!(done && run === deb)) (run === deb ? runs.debFirst : runs.mirFirst).push(await run());
    for (const run of pair) (run === deb ? runs.debNoop : runs.mirNoop).push(await run());
  }
  const result = {
    first: { deb: median(runs.debFirst), mir: median(runs.mirFirst) },
    noop: { deb: median(runs.debNoop), mir: median(runs.mirNoop) },
  };
  const of = `(median/${REPEAT})`;
  process.stdout.write(line(`debmirror first sync ${of}`, result.first.deb) + '\n');
  process.stdout.write(line(`mirror first sync ${of}`, result.first.mir) + '\n');
  process.stdout.write(line(`debmirror no-op ${of}`, result.noop.deb) + '\n');
  process.stdout.write(line(`mirror no-op ${of}`, result.noop.mir) + '\n');
  process.stdout.write(`  all runs (s): debmirror first ${fmt(runs.debFirst)}, mirror first ${fmt(runs.mirFirst)}, debmirror no-op ${fmt(runs.debNoop)}, mirror no-op ${fmt(runs.mirNoop)}\n`);
  return result;
}

async function benchSize(packages: number, key: ArchiveKey): Promise<Comparison> {
  const root = cacheDir(`apt-corpus-${packages}`);
  const upstream = join(root, 'upstream');
  const debs = join(root, 'debs');
  const started = Date.now();
  if (!existsSync(debs)) process.stdout.write(`building ${packages} packages with dpkg-deb (cached for later runs)…\n`);
  // Rebuilt every run (debs are cached) so that it is signed by this run's throwaway key.
  rmSync(upstream, { recursive: true, force: true });
  await buildArchive(upstream, { key, packages: corpus(packages), debCache: debs });
  const buildSeconds = (Date.now() - started) / 1000;
  const poolFiles = (await listFiles(join(upstream, 'pool'))).length;

  const server = await serveInChild(upstream);
  try {
    const host = new URL(server.url).host;
    const mirrorDest = join(root, 'mirror-out');
    const debmirrorDest = join(root, 'debmirror-out');
    const mirrorArgs = [MIRROR_BIN, 'sync', 'apt', server.url, mirrorDest, '--suite', 'stable', '--component', 'main', '--arch', 'amd64', '--keyring', key.keyring, '--no-progress', '--log-level', 'warn'];
    const debmirrorArgs = [
      '--host', host, '--method', 'http', '--root', '/', '--dist', 'stable', '--section', 'main', '--arch', 'amd64',
      '--nosource', '--keyring', key.keyring, '--rsync-extra', 'none', '--diff', 'none', '--omit-suite-symlinks',
      debmirrorDest,
    ];
    const home = { GNUPGHOME: join(root, 'debmirror-gnupg') };
    process.stdout.write(`archive: ${packages} packages, ${poolFiles} pool files (archive built in ${buildSeconds.toFixed(0)} s)\n`);
    const result = await compare(
      () => timedOk('debmirror', 'debmirror', debmirrorArgs, home),
      () => timedOk('mirror', process.execPath, mirrorArgs),
      { deb: debmirrorDest, mir: mirrorDest },
    );

    // Both results must be complete mirrors: same pool, and apt-get update works on ours.
    const ours = (await listFiles(join(mirrorDest, 'pool'))).length;
    const theirs = (await listFiles(join(debmirrorDest, 'pool'))).length;
    const served = await serveDir(mirrorDest);
    const client = await aptClient(join(root, 'apt-client-' + process.pid), served.url, 'stable', key.keyring);
    const update = await client.run(['update']);
    await served.close();
    rmSync(client.dir, { recursive: true, force: true });
    if (update.code !== 0) throw new Error(`apt-get update against the mirror failed:\n${update.output}`);
    if (ours !== poolFiles) throw new Error(`mirror holds ${ours} of ${poolFiles} pool files`);

    process.stdout.write(`pool files: mirror ${ours}, debmirror ${theirs}; apt-get update on mirror: ok\n`);
    return { label: `${packages} packages`, ...result };
  } finally {
    server.stop();
    for (const d of readdirSync(root)) if (d.startsWith('apt-client-')) rmSync(join(root, d), { recursive: true, force: true });
  }
}

const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

async function benchUpstream(spec: string): Promise<Comparison> {
  const [archive, suite] = spec.trim().split(/\s+/);
  if (!archive || !suite) throw new Error('BENCH_APT_UPSTREAM takes "<archive-url> <suite>", like "http://deb.debian.org/debian bookworm-updates"');
  const url = new URL(archive);
  const root = cacheDir('apt-upstream');
  const mirrorDest = join(root, 'mirror-out');
  const debmirrorDest = join(root, 'debmirror-out');
  const mirrorArgs = [MIRROR_BIN, 'sync', 'apt', archive, mirrorDest, '--suite', suite, '--component', 'main', '--arch', 'amd64', '--keyring', DEBIAN_KEYRING, '--no-progress', '--log-level', 'warn'];
  const home = { GNUPGHOME: join(root, 'debmirror-gnupg') };
  const debmirrorArgs = (extra: string[]) => [
    '--host', url.host, '--method', url.protocol.replace(':', ''), '--root', url.pathname, '--dist', suite, '--section', 'main', '--arch', 'amd64',
    '--nosource', '--keyring', DEBIAN_KEYRING, '--rsync-extra', 'none', '--diff', 'none', '--omit-suite-symlinks', ...extra, debmirrorDest,
  ];
  // The probe is the first debmirror run; it counts as round 0's first sync unless refused.
  rmSync(debmirrorDest, { recursive: true, force: true });
  const probe = await timed('debmirror', debmirrorArgs([]), home);
  const refused = probe.code !== 0 && /signature does not verify/.test(probe.stdout + probe.stderr);
  if (probe.code !== 0 && !refused) throw new Error(`debmirror failed (exit ${probe.code}):\n${probe.stderr.slice(-2000)}${probe.stdout.slice(-2000)}`);
  const extra = refused ? ['--ignore-release-gpg'] : [];
  if (refused) process.stdout.write(`debmirror refuses ${suite}: upstream's Release.gpg does not verify; it runs with --ignore-release-gpg (no signature check)\n`);
  const result = await compare(
    () => timedOk('debmirror', 'debmirror', debmirrorArgs(extra), home),
    () => timedOk('mirror', process.execPath, mirrorArgs),
    { deb: debmirrorDest, mir: mirrorDest },
    refused ? undefined : probe,
  );
  const pool = (await listFiles(join(mirrorDest, 'pool'))).length;
  process.stdout.write(`pool files: mirror ${pool}, debmirror ${(await listFiles(join(debmirrorDest, 'pool'))).length}\n`);
  return { label: `${archive} ${suite} (${pool} pool files)`, ...result };
}

function fmt(ts: Timed[]): string {
  return ts.map((t) => t.seconds.toFixed(2)).join('/');
}

ensureDebmirror();
const keyDir = join(CACHE, `apt-key-${process.pid}`);
const key = await makeKey(keyDir);
try {
  const results: Comparison[] = [];
  for (const packages of sizes) {
    process.stdout.write(`--- ${packages} packages\n`);
    results.push(await benchSize(packages, key));
  }
  if (process.env.BENCH_APT_UPSTREAM) results.push(await benchUpstream(process.env.BENCH_APT_UPSTREAM));
  process.stdout.write(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores\n`);
  for (const r of results) {
    process.stdout.write(
      `mirror / debmirror at ${r.label}: first sync ${ratio(r.first.mir.seconds, r.first.deb.seconds)} (target ≤ 0.50×), ` +
        `no-op rerun ${ratio(r.noop.mir.seconds, r.noop.deb.seconds)} (target ≤ 0.20×)\n`,
    );
  }
} finally {
  await dropKey(key);
  rmSync(keyDir, { recursive: true, force: true });
}
