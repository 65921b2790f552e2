// Test fixtures for the apt adapter: a real signed apt archive and a throwaway apt client.
//
// Contract: `makeKey` creates a throwaway ed25519 signing key in its own GNUPGHOME and
// exports a binary keyring for gpgv / apt (signed-by). `buildArchive` writes a complete suite
// under `root` for exactly the packages given: .debs made with `dpkg-deb --build` (kept across
// rebuilds, stale ones removed from the pool), Packages via `apt-ftparchive packages`, .gz and
// .xz copies (the plain Packages is listed in Release but not shipped, as on Debian mirrors),
// optional Sources from hand-made .dsc files, Release via `apt-ftparchive release` with
// Acquire-By-Hash, by-hash/SHA256 copies (older generations stay), and InRelease / Release.gpg
// signed with the key. `aptClient` runs the real apt-get against a URL with a hermetic config
// (APT_CONFIG redirects every directory, nothing from the host's /etc/apt is read).
import { execFile as execFileCb } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

export interface ArchiveKey {
  gnupgHome: string;
  keyring: string;
  fingerprint: string;
}

export async function makeKey(dir: string, name = 'Mirror Test Archive'): Promise<ArchiveKey> {
  const gnupgHome = join(dir, 'gnupg');
  await fs.mkdir(gnupgHome, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gnupgHome };
  await execFile('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', `${name} <test@example.invalid>`, 'ed25519', 'sign', 'never'], { env });
  const { stdout } = await execFile('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env });
  const fingerprint = stdout.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
  const keyring = join(dir, 'keyring.gpg');
  const exported = await execFileBuffer('gpg', ['--batch', '--export', fingerprint], env);
  await fs.writeFile(keyring, exported);
  return { gnupgHome, keyring, fingerprint };
}

/** Stops the gpg-agent that gpg started for this key's GNUPGHOME. */
export async function dropKey(key: ArchiveKey): Promise<void> {
  await execFile('gpgconf', ['--homedir', key.gnupgHome, '--kill', 'gpg-agent']).catch(() => {});
}

async function execFileBuffer(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Buffer> {
  const { stdout } = await execFile(cmd, args, { env, encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

export interface FixturePackage {
  name: string;
  version: string;
  arch?: 'amd64' | 'all';
  section?: string;
  priority?: string;
  depends?: string;
  /** Bytes of payload inside the .deb (default small). */
  payloadBytes?: number;
}

export interface ArchiveOptions {
  suite?: string;
  codename?: string;
  component?: string;
  packages: FixturePackage[];
  /** Signs InRelease / Release.gpg; null leaves the suite unsigned. */
  key: ArchiveKey | null;
  sources?: boolean;
  /** Where built .debs are cached between builds (default: <root>/../deb-cache). */
  debCache?: string;
  /** Remove pool files this suite does not list (default true; false when suites share a pool). */
  prunePool?: boolean;
}

export function poolDir(component: string, name: string): string {
  const prefix = name.startsWith('lib') ? name.slice(0, 4) : name[0];
  return `pool/${component}/${prefix}/${name}`;
}

export function debPath(component: string, p: FixturePackage): string {
  return `${poolDir(component, p.name)}/${p.name}_${p.version}_${p.arch ?? 'amd64'}.deb`;
}

async function buildDeb(cacheDir: string, p: FixturePackage): Promise<string> {
  const file = join(cacheDir, `${p.name}_${p.version}_${p.arch ?? 'amd64'}_${p.payloadBytes ?? 0}.deb`);
  if (existsSync(file)) return file;
  const tree = await fs.mkdtemp(join(cacheDir, 'tree-'));
  await fs.mkdir(join(tree, 'DEBIAN'));
  await fs.mkdir(join(tree, 'usr/share/doc', p.name), { recursive: true });
  const control = [
    `Package: ${p.name}`,
    `Version: ${p.version}`,
    `Architecture: ${p.arch ?? 'amd64'}`,
    `Maintainer: Mirror Test <test@example.invalid>`,
    `Section: ${p.section ?? 'utils'}`,
    `Priority: ${p.priority ?? 'optional'}`,
    ...(p.depends ? [`Depends: ${p.depends}`] : []),
    `Description: test package ${p.name}`,
    ` A tiny package built for the apt mirror tests.`,
    '',
  ].join('\n');
  await fs.writeFile(join(tree, 'DEBIAN/control'), control);
  await fs.writeFile(join(tree, 'usr/share/doc', p.name, 'README'), `${p.name} ${p.version}\n` + 'x'.repeat(p.payloadBytes ?? 0));
  await execFile('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', tree, file]);
  await fs.rm(tree, { recursive: true, force: true });
  return file;
}

async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex');
}

async function writeSourcePackage(root: string, component: string, p: FixturePackage): Promise<void> {
  const dir = join(root, poolDir(component, p.name));
  const tarName = `${p.name}_${p.version}.tar.xz`;
  const tar = join(dir, tarName);
  if (!existsSync(tar)) await fs.writeFile(tar, await execFileBuffer('xz', ['-c', '/dev/null']));
  const body = await fs.readFile(tar);
  const md5 = createHash('md5').update(body).digest('hex');
  const sha256 = createHash('sha256').update(body).digest('hex');
  const dsc = [
    'Format: 3.0 (native)',
    `Source: ${p.name}`,
    `Binary: ${p.name}`,
    `Architecture: ${p.arch ?? 'amd64'}`,
    `Version: ${p.version}`,
    'Maintainer: Mirror Test <test@example.invalid>',
    'Checksums-Sha256:',
    ` ${sha256} ${body.length} ${tarName}`,
    'Files:',
    ` ${md5} ${body.length} ${tarName}`,
    '',
  ].join('\n');
  await fs.writeFile(join(dir, `${p.name}_${p.version}.dsc`), dsc);
}

/** (Re)builds the suite under `root` so that it holds exactly `opts.packages`. */
export async function buildArchive(root: string, opts: ArchiveOptions): Promise<void> {
  const suite = opts.suite ?? 'stable';
  const component = opts.component ?? 'main';
  const cache = opts.debCache ?? join(root, '..', 'deb-cache');
  await fs.mkdir(cache, { recursive: true });

  // Pool: exactly the wanted files.
  const wanted = new Set<string>();
  for (const p of opts.packages) {
    const rel = debPath(component, p);
    wanted.add(rel);
    await fs.mkdir(join(root, poolDir(component, p.name)), { recursive: true });
    if (!existsSync(join(root, rel))) await fs.copyFile(await buildDeb(cache, p), join(root, rel));
    if (opts.sources) {
      await writeSourcePackage(root, component, p);
      wanted.add(`${poolDir(component, p.name)}/${p.name}_${p.version}.dsc`);
      wanted.add(`${poolDir(component, p.name)}/${p.name}_${p.version}.tar.xz`);
    }
  }
  for (const file of opts.prunePool === false ? [] : await listFiles(join(root, 'pool'))) {
    const rel = `pool/${file}`;
    if (!wanted.has(rel)) await fs.rm(join(root, rel));
  }

  // Indexes.
  const distDir = join(root, 'dists', suite);
  const binDir = join(distDir, component, 'binary-amd64');
  await fs.mkdir(binDir, { recursive: true });
  const { stdout: allPk } = await execFile('apt-ftparchive', ['--arch', 'amd64', 'packages', `pool/${component}`], { cwd: root, maxBuffer: 64 << 20 });
  const pk = onlyWanted(allPk, wanted);
  await writeCompressed(join(binDir, 'Packages'), pk);
  await fs.writeFile(join(binDir, 'Release'), `Archive: ${suite}\nComponent: ${component}\nArchitecture: amd64\n`);
  if (opts.sources) {
    const srcDir = join(distDir, component, 'source');
    await fs.mkdir(srcDir, { recursive: true });
    const { stdout: allSrc } = await execFile('apt-ftparchive', ['sources', `pool/${component}`], { cwd: root, maxBuffer: 64 << 20 });
    const src = onlyWanted(allSrc, wanted);
    await writeCompressed(join(srcDir, 'Sources'), src);
  }

  // Release over dists/<suite> (written outside, then moved in, so it does not list itself).
  for (const f of ['Release', 'InRelease', 'Release.gpg']) await fs.rm(join(distDir, f), { force: true });
  const { stdout: release } = await execFile(
    'apt-ftparchive',
    [
      '-o', 'APT::FTPArchive::Release::Origin=MirrorTest',
      '-o', 'APT::FTPArchive::Release::Label=MirrorTest',
      '-o', `APT::FTPArchive::Release::Suite=${suite}`,
      '-o', `APT::FTPArchive::Release::Codename=${opts.codename ?? suite}`,
      '-o', 'APT::FTPArchive::Release::Architectures=amd64',
      '-o', `APT::FTPArchive::Release::Components=${component}`,
      '-o', 'APT::FTPArchive::Release::Acquire-By-Hash=yes',
      // Hash sections as on Debian: MD5Sum and SHA256 only (apt then asks by-hash/SHA256).
      '-o', 'APT::FTPArchive::Release::SHA1=false',
      '-o', 'APT::FTPArchive::Release::SHA512=false',
      'release', '.',
    ],
    { cwd: distDir, maxBuffer: 64 << 20 },
  );
  // Debian lists the uncompressed Packages but does not ship it: do the same.
  await fs.rm(join(binDir, 'Packages'));
  if (opts.sources) await fs.rm(join(distDir, component, 'source', 'Sources'));
  await fs.writeFile(join(distDir, 'Release'), release);

  // by-hash copies of every shipped file the Release lists.
  const sha256Section = release.split(/^SHA256:\n/m)[1] ?? '';
  for (const line of sha256Section.split('\n')) {
    const m = /^ ([0-9a-f]{64})\s+\d+\s+(\S+)$/.exec(line);
    if (!m) break;
    const [, hex, path] = m;
    const file = join(distDir, path);
    if (!existsSync(file)) continue;
    const byHashDir = join(distDir, path.slice(0, path.lastIndexOf('/')), 'by-hash', 'SHA256');
    await fs.mkdir(byHashDir, { recursive: true });
    await fs.copyFile(file, join(byHashDir, hex));
  }

  if (opts.key) await signSuite(distDir, opts.key);
}

/** Keeps the stanzas whose Filename (Packages) or Directory + .dsc (Sources) this suite wants. */
function onlyWanted(index: string, wanted: Set<string>): string {
  const stanzas = index.split('\n\n').filter((s) => s.trim() !== '');
  const kept = stanzas.filter((s) => {
    const filename = /^Filename: (.+)$/m.exec(s)?.[1];
    if (filename) return wanted.has(filename);
    const dir = /^Directory: (.+)$/m.exec(s)?.[1];
    const dsc = /^ [0-9a-f]+ \d+ (\S+\.dsc)$/m.exec(s)?.[1];
    return dir !== undefined && dsc !== undefined && wanted.has(`${dir}/${dsc}`);
  });
  return kept.map((s) => `${s}\n\n`).join('');
}

/** Signs dists/<suite>/Release into InRelease and Release.gpg. */
export async function signSuite(distDir: string, key: ArchiveKey): Promise<void> {
  const env = { ...process.env, GNUPGHOME: key.gnupgHome };
  const base = ['--batch', '--yes', '--local-user', key.fingerprint, '--digest-algo', 'SHA512'];
  await execFile('gpg', [...base, '--clearsign', '--output', join(distDir, 'InRelease'), join(distDir, 'Release')], { env });
  await execFile('gpg', [...base, '--armor', '--detach-sign', '--output', join(distDir, 'Release.gpg'), join(distDir, 'Release')], { env });
}

async function writeCompressed(file: string, text: string): Promise<void> {
  await fs.writeFile(file, text);
  await fs.writeFile(`${file}.gz`, await execFileBuffer('gzip', ['-9cn', file]));
  await fs.writeFile(`${file}.xz`, await execFileBuffer('xz', ['-c', file]));
}

/** Every regular file under dir, '/'-separated and relative; [] when dir is missing. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let entries;
    try {
      entries = await fs.readdir(join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

export { sha256File };

export interface AptResult {
  code: number;
  output: string;
}

export interface AptClient {
  dir: string;
  /** Runs apt-get with the hermetic config; never throws on a non-zero exit. */
  run(args: string[]): Promise<AptResult>;
  /** .deb files apt downloaded into its cache. */
  downloaded(): Promise<string[]>;
}

/** A throwaway apt configuration pointing at `url` (signed-by `keyring`, or trusted=yes if null). */
export async function aptClient(dir: string, url: string, suite: string, keyring: string | null, component = 'main', withSources = false): Promise<AptClient> {
  for (const d of ['etc/parts', 'etc/sources.list.d', 'etc/trusted.gpg.d', 'etc/preferences.d', 'state/lists/partial', 'cache/archives/partial', 'log']) {
    await fs.mkdir(join(dir, d), { recursive: true });
  }
  const opt = keyring ? `[signed-by=${keyring}]` : '[trusted=yes]';
  const lines = [`deb ${opt} ${url}/ ${suite} ${component}`];
  if (withSources) lines.push(`deb-src ${opt} ${url}/ ${suite} ${component}`);
  await fs.writeFile(join(dir, 'etc/sources.list'), lines.join('\n') + '\n');
  await fs.writeFile(join(dir, 'state/status'), '');
  const conf = [
    `Dir::Etc::Parts "${dir}/etc/parts";`,
    `Dir::Etc::main "/dev/null";`,
    `Dir::Etc::sourcelist "${dir}/etc/sources.list";`,
    `Dir::Etc::sourceparts "${dir}/etc/sources.list.d";`,
    `Dir::Etc::trusted "${dir}/etc/trusted.gpg";`,
    `Dir::Etc::trustedparts "${dir}/etc/trusted.gpg.d";`,
    `Dir::Etc::preferences "${dir}/etc/preferences";`,
    `Dir::Etc::preferencesparts "${dir}/etc/preferences.d";`,
    `Dir::State "${dir}/state";`,
    `Dir::State::status "${dir}/state/status";`,
    `Dir::Cache "${dir}/cache";`,
    `Dir::Log "${dir}/log";`,
    `APT::Architecture "amd64";`,
    `APT::Architectures { "amd64"; };`,
    `APT::Sandbox::User "root";`,
    `Debug::NoLocking "true";`,
    `Acquire::Languages "none";`,
    `Acquire::http::Proxy "DIRECT";`,
    `Acquire::Retries "0";`,
    `Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";`,
    '',
  ].join('\n');
  const confFile = join(dir, 'apt.conf');
  await fs.writeFile(confFile, conf);
  const env: NodeJS.ProcessEnv = { ...process.env, APT_CONFIG: confFile, DEBIAN_FRONTEND: 'noninteractive' };
  for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete env[k];
  return {
    dir,
    async run(args) {
      try {
        const { stdout, stderr } = await execFile('apt-get', ['-q', ...args], { env, cwd: dir, maxBuffer: 16 << 20 });
        return { code: 0, output: stdout + stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    },
    async downloaded() {
      return (await fs.readdir(join(dir, 'cache/archives'))).filter((f) => f.endsWith('.deb')).sort();
    },
  };
}
