// apt benchmark: `mirror sync apt` against Debian's debmirror on the same local signed archive
// (BENCH_APT_PACKAGES tiny .debs, default 400, built with dpkg-deb / apt-ftparchive / gpg and
// cached under .bench/), served by the same static server. Both verify the Release signature
// with gpgv and mirror the same selection (one suite, main, amd64, binaries). Measured: first
// sync into an empty directory and the no-op rerun, wall time and peak RSS. debmirror is
// installed with apt-get when missing (the bench only; never the tests).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { aptClient, buildArchive, dropKey, listFiles, makeKey, type FixturePackage } from '../apt/fixture.js';
import { serveDir } from '../helpers/static-server.js';
import { cacheDir, MIRROR_BIN, ratio, serveInChild, timed, type Timed } from './bench-util.js';

const PACKAGES = Number(process.env.BENCH_APT_PACKAGES ?? 400);
const root = cacheDir(`apt-corpus-${PACKAGES}`);
const upstream = join(root, 'upstream');

function ensureDebmirror(): void {
  if (spawnSync('sh', ['-c', 'command -v debmirror'], { stdio: 'ignore' }).status === 0) return;
  process.stdout.write('installing debmirror (apt-get install debmirror)…\n');
  execFileSync('apt-get', ['install', '-y', '-qq', 'debmirror'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function corpus(): FixturePackage[] {
  // Deterministic sizes from 1 KiB to ~60 KiB; a quarter of the packages are arch:all, some lib*.
  const out: FixturePackage[] = [];
  let seed = 2026;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < PACKAGES; i++) {
    const name = `${i % 5 === 0 ? 'lib' : ''}pkg${String(i).padStart(4, '0')}`;
    out.push({ name, version: `1.${i % 7}`, arch: i % 4 === 0 ? 'all' : 'amd64', payloadBytes: 1024 + (next() % 60_000) });
  }
  return out;
}

ensureDebmirror();
const key = await makeKey(join(root, 'key-' + process.pid));
try {
  if (!existsSync(join(root, 'debs'))) process.stdout.write(`building ${PACKAGES} packages with dpkg-deb (cached for later runs)…\n`);
  // Rebuilt every run (debs are cached) so that it is signed by this run's throwaway key.
  rmSync(upstream, { recursive: true, force: true });
  await buildArchive(upstream, { key, packages: corpus(), debCache: join(root, 'debs') });
  const poolFiles = (await listFiles(join(upstream, 'pool'))).length;

  const server = await serveInChild(upstream);
  try {
    const host = new URL(server.url).host;
    const mirrorDest = join(root, 'mirror-out');
    const debmirrorDest = join(root, 'debmirror-out');
    rmSync(mirrorDest, { recursive: true, force: true });
    rmSync(debmirrorDest, { recursive: true, force: true });
    const mirrorArgs = [MIRROR_BIN, 'sync', 'apt', server.url, mirrorDest, '--suite', 'stable', '--component', 'main', '--arch', 'amd64', '--keyring', key.keyring, '--no-progress', '--log-level', 'warn'];
    const debmirrorArgs = [
      '--host', host, '--method', 'http', '--root', '/', '--dist', 'stable', '--section', 'main', '--arch', 'amd64',
      '--nosource', '--keyring', key.keyring, '--rsync-extra', 'none', '--diff', 'none', '--i18n', '--omit-suite-symlinks',
      debmirrorDest,
    ].filter((a) => a !== '--i18n');
    const home = { GNUPGHOME: join(root, 'debmirror-gnupg') };

    const run = async (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> => {
      const t = await timed(cmd, args, env);
      if (t.code !== 0) throw new Error(`${name} failed (exit ${t.code}):\n${t.stderr.slice(-2000)}${t.stdout.slice(-2000)}`);
      return t;
    };
    // Alternate the tools so that neither always runs on a warmer page cache.
    const debFirst = await run('debmirror', 'debmirror', debmirrorArgs, home);
    const mirFirst = await run('mirror', process.execPath, mirrorArgs);
    // No-op reruns are short: take the median of three, alternating the tools.
    const debNoops: Timed[] = [];
    const mirNoops: Timed[] = [];
    for (let i = 0; i < 3; i++) {
      debNoops.push(await run('debmirror', 'debmirror', debmirrorArgs, home));
      mirNoops.push(await run('mirror', process.execPath, mirrorArgs));
    }
    const median = (ts: Timed[]) => [...ts].sort((a, b) => a.seconds - b.seconds)[1];
    const debNoop = median(debNoops);
    const mirNoop = median(mirNoops);

    // Both results must be complete mirrors: same pool, and apt-get update works on ours.
    const ours = (await listFiles(join(mirrorDest, 'pool'))).length;
    const theirs = (await listFiles(join(debmirrorDest, 'pool'))).length;
    const served = await serveDir(mirrorDest);
    const client = await aptClient(join(root, 'apt-client-' + process.pid), served.url, 'stable', key.keyring);
    const update = await client.run(['update']);
    await served.close();
    rmSync(client.dir, { recursive: true, force: true });
    if (update.code !== 0) throw new Error(`apt-get update against the mirror failed:\n${update.output}`);

    // mirror's own summary line says how long the run took inside the process ("... in 0.1s"):
    // the rest of the wall time is Node start-up, module loading and exit.
    const inside = (t: Timed) => {
      const m = / in ([\d.]+)s \(run \d+\)/.exec(t.stdout + t.stderr);
      return m ? `  (run itself ${m[1]} s)` : '';
    };
    const line = (name: string, t: Timed) =>
      `${name.padEnd(26)} ${t.seconds.toFixed(2).padStart(7)} s  peak RSS ${t.maxRssMb.toFixed(0).padStart(4)} MB${name.startsWith('mirror') ? inside(t) : ''}`;
    process.stdout.write(`archive: ${PACKAGES} packages, ${poolFiles} pool files (mirror: ${ours}, debmirror: ${theirs}); apt-get update on mirror: ok\n`);
    process.stdout.write(line('debmirror first sync', debFirst) + '\n');
    process.stdout.write(line('mirror first sync', mirFirst) + '\n');
    process.stdout.write(line('debmirror no-op (median/3)', debNoop) + '\n');
    process.stdout.write(line('mirror no-op (median/3)', mirNoop) + '\n');
    process.stdout.write(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores\n`);
    process.stdout.write(
      `mirror / debmirror: first sync ${ratio(mirFirst.seconds, debFirst.seconds)} (target ≤ 0.50×), ` +
        `no-op rerun ${ratio(mirNoop.seconds, debNoop.seconds)} (target ≤ 0.20×)\n`,
    );
    if (ours !== poolFiles) throw new Error(`mirror holds ${ours} of ${poolFiles} pool files`);
  } finally {
    server.stop();
  }
} finally {
  await dropKey(key);
  rmSync(join(root, 'key-' + process.pid), { recursive: true, force: true });
  for (const d of readdirSync(root)) if (d.startsWith('apt-client-')) rmSync(join(root, d), { recursive: true, force: true });
}
