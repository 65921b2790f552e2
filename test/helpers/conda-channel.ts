// Builds a real conda channel on disk for tests: `.tar.bz2` packages (tar + bzip2 holding
// info/index.json and a payload) and `.conda` packages (an uncompressed zip holding
// metadata.json, info-<stem>.tar.zst and pkg-<stem>.tar.zst), each subdir's repodata.json with
// sizes and checksums computed here, its .bz2 / .zst variants and current_repodata.json, and
// the root channeldata.json. Uses the tar, bzip2, zstd and zip CLIs. Builds are reproducible
// (fixed mtimes and owners): the same spec gives the same bytes, so rewriting a channel changes
// only the packages whose spec changed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PackageSpec {
  name: string;
  version: string;
  build?: string;
  buildNumber?: number;
  format: 'tar.bz2' | 'conda';
  depends?: string[];
  /** Changes the package bytes (a payload file's content). */
  payload?: string;
}

export interface BuiltPackage {
  filename: string;
  bytes: Buffer;
  record: Record<string, unknown>;
}

export interface ChannelSpec {
  /** subdir -> packages. */
  subdirs: Record<string, PackageSpec[]>;
  /** repodata_version 2 with this info.base_url (packages are then NOT written to the subdir). */
  baseUrl?: string;
  /** Where packages go when baseUrl is set (absolute dir). */
  packagesDir?: string;
  variants?: { bz2?: boolean; zst?: boolean; current?: boolean };
  channelData?: boolean;
}

function sha(algo: 'sha256' | 'md5', bytes: Buffer): string {
  return createHash(algo).update(bytes).digest('hex');
}

export function buildPackage(spec: PackageSpec, subdir: string): BuiltPackage {
  const build = spec.build ?? `h0000000_${spec.buildNumber ?? 0}`;
  const stem = `${spec.name}-${spec.version}-${build}`;
  const filename = `${stem}.${spec.format}`;
  const index = {
    name: spec.name,
    version: spec.version,
    build,
    build_number: spec.buildNumber ?? 0,
    depends: spec.depends ?? [],
    license: 'MIT',
    subdir,
    timestamp: 1_700_000_000_000,
  };
  const work = mkdtempSync(join(tmpdir(), 'conda-pkg-'));
  try {
    mkdirSync(join(work, 'info'));
    mkdirSync(join(work, 'lib'));
    writeFileSync(join(work, 'info', 'index.json'), JSON.stringify(index, null, 2));
    writeFileSync(join(work, 'info', 'files'), `lib/${spec.name}.txt\n`);
    writeFileSync(join(work, 'lib', `${spec.name}.txt`), spec.payload ?? `${stem} payload\n`);
    const out = join(work, filename);
    const tarArgs = ['--sort=name', '--mtime=@1700000000', '--owner=0', '--group=0', '--numeric-owner', '-C', work];
    if (spec.format === 'tar.bz2') {
      const tar = execFileSync('tar', ['-cf', '-', ...tarArgs, 'info', 'lib']);
      writeFileSync(out, execFileSync('bzip2', ['-c'], { input: tar }));
    } else {
      const tarZst = (part: string, name: string) => {
        const tar = execFileSync('tar', ['-cf', '-', ...tarArgs, part]);
        execFileSync('zstd', ['-q', '-f', '-o', join(work, name)], { input: tar });
        utimesSync(join(work, name), 1_700_000_000, 1_700_000_000);
      };
      tarZst('info', `info-${stem}.tar.zst`);
      tarZst('lib', `pkg-${stem}.tar.zst`);
      writeFileSync(join(work, 'metadata.json'), JSON.stringify({ conda_pkg_format_version: 2 }));
      utimesSync(join(work, 'metadata.json'), 1_700_000_000, 1_700_000_000);
      execFileSync('zip', ['-q', '-0', '-X', out, 'metadata.json', `info-${stem}.tar.zst`, `pkg-${stem}.tar.zst`], { cwd: work });
    }
    const bytes = readFileSync(out);
    return {
      filename,
      bytes,
      record: { ...index, md5: sha('md5', bytes), sha256: sha('sha256', bytes), size: bytes.length },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface WrittenChannel {
  /** subdir -> filename -> package. */
  packages: Record<string, Record<string, BuiltPackage>>;
}

/** Writes (or rewrites) the whole channel under `root`; stale files are left for the caller. */
export function writeChannel(root: string, spec: ChannelSpec): WrittenChannel {
  const variants = { bz2: true, zst: true, current: true, ...spec.variants };
  const result: WrittenChannel = { packages: {} };
  for (const [subdir, specs] of Object.entries(spec.subdirs)) {
    const dir = join(root, subdir);
    mkdirSync(dir, { recursive: true });
    const built = specs.map((p) => buildPackage(p, subdir));
    result.packages[subdir] = {};
    const packages: Record<string, unknown> = {};
    const condaPackages: Record<string, unknown> = {};
    const latest = new Map<string, BuiltPackage>();
    for (const pkg of built) {
      result.packages[subdir][pkg.filename] = pkg;
      const pkgDir = spec.baseUrl ? spec.packagesDir! : dir;
      mkdirSync(pkgDir, { recursive: true });
      writeFileSync(join(pkgDir, pkg.filename), pkg.bytes);
      (pkg.filename.endsWith('.conda') ? condaPackages : packages)[pkg.filename] = pkg.record;
      latest.set(pkg.record.name as string, pkg);
    }
    const info: Record<string, unknown> = { subdir };
    if (spec.baseUrl) info.base_url = spec.baseUrl;
    const repodata = {
      info,
      packages,
      'packages.conda': condaPackages,
      removed: [],
      repodata_version: spec.baseUrl ? 2 : 1,
    };
    const repodataFile = join(dir, 'repodata.json');
    writeFileSync(repodataFile, JSON.stringify(repodata, null, 2));
    if (variants.bz2) writeFileSync(`${repodataFile}.bz2`, execFileSync('bzip2', ['-c', repodataFile]));
    if (variants.zst) writeFileSync(`${repodataFile}.zst`, execFileSync('zstd', ['-q', '-c', repodataFile]));
    if (variants.current) {
      const current = { ...repodata, packages: {} as Record<string, unknown>, 'packages.conda': {} as Record<string, unknown> };
      for (const pkg of latest.values()) {
        (pkg.filename.endsWith('.conda') ? current['packages.conda'] : current.packages)[pkg.filename] = pkg.record;
      }
      writeFileSync(join(dir, 'current_repodata.json'), JSON.stringify(current, null, 2));
    }
  }
  if (spec.channelData !== false) {
    const names: Record<string, unknown> = {};
    for (const [subdir, specs] of Object.entries(spec.subdirs)) {
      for (const p of specs) {
        const entry = (names[p.name] ??= { version: p.version, subdirs: [] as string[] }) as { subdirs: string[] };
        if (!entry.subdirs.includes(subdir)) entry.subdirs.push(subdir);
      }
    }
    writeFileSync(
      join(root, 'channeldata.json'),
      JSON.stringify({ channeldata_version: 1, packages: names, subdirs: Object.keys(spec.subdirs).sort() }, null, 2),
    );
  }
  return result;
}
