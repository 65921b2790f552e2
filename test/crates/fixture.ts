// A real crates registry for tests: .crate files made by `cargo package`, a git index with the
// correct shard paths and cksums, served over git's dumb HTTP protocol by a 127.0.0.1 server.
//
// Layout under `root`:
//   index/            the index work tree (a git repo; index/.git is what clients clone)
//   dl/<name>/<vers>/download   the .crate files (config.json `dl` uses the no-marker form)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { indexPathFor } from '../../src/sources/crates/format.js';

export const CARGO = process.env.CARGO ?? '/root/.cargo/bin/cargo';

export interface CrateSpec {
  name: string;
  vers: string;
  /** Registry dependencies on crates of the same package() call: name -> version req. */
  deps?: Record<string, string>;
}

export interface PackagedCrate extends CrateSpec {
  file: string;
  cksum: string;
}

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/**
 * Packages crates with the real cargo (one workspace, so they may depend on each other).
 * Returns each .crate with its sha256.
 */
export function packageCrates(workDir: string, specs: CrateSpec[]): PackagedCrate[] {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const dirOf = (s: CrateSpec) => `m_${s.name.replace(/-/g, '_').toLowerCase()}`;
  writeFileSync(join(workDir, 'Cargo.toml'), `[workspace]\nmembers = [${specs.map((s) => `"${dirOf(s)}"`).join(', ')}]\nresolver = "2"\n`);
  for (const s of specs) {
    const dir = join(workDir, dirOf(s));
    mkdirSync(join(dir, 'src'), { recursive: true });
    const deps = Object.entries(s.deps ?? {})
      .map(([n, req]) => {
        const dep = specs.find((d) => d.name === n);
        if (!dep) throw new Error(`fixture: ${s.name} depends on ${n}, not in this workspace`);
        return `${JSON.stringify(n)} = { version = "${req}", path = "../${dirOf(dep)}" }`;
      })
      .join('\n');
    writeFileSync(
      join(dir, 'Cargo.toml'),
      `[package]\nname = "${s.name}"\nversion = "${s.vers}"\nedition = "2021"\ndescription = "fixture"\nlicense = "MIT"\n\n[dependencies]\n${deps}\n`,
    );
    writeFileSync(join(dir, 'src', 'lib.rs'), `pub fn hello() -> &'static str { "${s.name} ${s.vers}" }\n`);
  }
  sh(CARGO, ['package', '--workspace', '--offline', '--allow-dirty', '--no-verify', '--quiet'], workDir, {
    CARGO_HOME: join(workDir, '.cargo-home'),
    CARGO_TARGET_DIR: join(workDir, 'target'),
  });
  return specs.map((s) => {
    const file = join(workDir, 'target', 'package', `${s.name}-${s.vers}.crate`);
    const cksum = createHash('sha256').update(readFileSync(file)).digest('hex');
    return { ...s, file, cksum };
  });
}

function indexLine(c: PackagedCrate, yanked: boolean): string {
  return JSON.stringify({
    name: c.name,
    vers: c.vers,
    deps: Object.entries(c.deps ?? {}).map(([name, req]) => ({
      name,
      req,
      features: [],
      optional: false,
      default_features: true,
      target: null,
      kind: 'normal',
    })),
    cksum: c.cksum,
    features: {},
    yanked,
    links: null,
    v: 2,
  });
}

/** An upstream registry: a git index + the .crate download tree. */
export class UpstreamRegistry {
  readonly indexDir: string;
  readonly dlDir: string;

  constructor(readonly root: string) {
    this.indexDir = join(root, 'index');
    this.dlDir = join(root, 'dl');
  }

  /** Creates the index repository with a config.json whose `dl` is `dl` (no-marker form ok). */
  init(dl: string): void {
    mkdirSync(this.indexDir, { recursive: true });
    mkdirSync(this.dlDir, { recursive: true });
    sh('git', ['init', '--quiet', '--initial-branch=master'], this.indexDir);
    writeFileSync(join(this.indexDir, 'config.json'), JSON.stringify({ dl, api: 'https://crates.invalid' }, null, 2) + '\n');
    writeFileSync(join(this.indexDir, 'README.md'), 'fixture index\n');
    this.commit('init');
  }

  /** Publishes versions: appends index lines and places the .crate under dl/. */
  publish(crates: PackagedCrate[], opts: { yanked?: string[]; crateBytes?: (c: PackagedCrate) => Buffer } = {}): void {
    for (const c of crates) {
      const path = join(this.indexDir, indexPathFor(c.name));
      mkdirSync(dirname(path), { recursive: true });
      const yanked = opts.yanked?.includes(`${c.name}@${c.vers}`) ?? false;
      writeFileSync(path, (existsSync(path) ? readFileSync(path, 'utf8') : '') + indexLine(c, yanked) + '\n');
      const dl = join(this.dlDir, c.name, c.vers, 'download');
      mkdirSync(dirname(dl), { recursive: true });
      writeFileSync(dl, opts.crateBytes ? opts.crateBytes(c) : readFileSync(c.file));
    }
  }

  /** Sets `yanked` on one version's index line. */
  yank(name: string, vers: string): void {
    const path = join(this.indexDir, indexPathFor(name));
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    writeFileSync(
      path,
      lines
        .map((l) => {
          const o = JSON.parse(l) as { vers: string; yanked: boolean };
          if (o.vers === vers) o.yanked = true;
          return JSON.stringify(o);
        })
        .join('\n') + '\n',
    );
  }

  /** Deletes a crate from the index (and its downloads). */
  remove(name: string): void {
    rmSync(join(this.indexDir, indexPathFor(name)));
    rmSync(join(this.dlDir, name), { recursive: true, force: true });
  }

  /** Appends raw text to a crate's index file (e.g. a malformed line). */
  appendRaw(name: string, text: string): void {
    const path = join(this.indexDir, indexPathFor(name));
    writeFileSync(path, readFileSync(path, 'utf8') + text);
  }

  commit(message: string): string {
    sh('git', ['add', '-A'], this.indexDir);
    sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '--allow-empty', '-m', message], this.indexDir);
    sh('git', ['update-server-info'], this.indexDir);
    return sh('git', ['rev-parse', 'HEAD'], this.indexDir).trim();
  }

  /** Replaces the whole history with one commit of the current tree (as crates.io squashes). */
  squash(): string {
    sh('git', ['checkout', '--quiet', '--orphan', 'squashed'], this.indexDir);
    sh('git', ['add', '-A'], this.indexDir);
    sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'squash'], this.indexDir);
    sh('git', ['branch', '--quiet', '-M', 'squashed', 'master'], this.indexDir);
    sh('git', ['gc', '--quiet', '--prune=now'], this.indexDir);
    sh('git', ['update-server-info'], this.indexDir);
    return sh('git', ['rev-parse', 'HEAD'], this.indexDir).trim();
  }
}

/** A cargo project depending on `deps`, with a CARGO_HOME that replaces crates.io by `registry`. */
export function cargoProject(dir: string, deps: Record<string, string>, registry: string): { env: NodeJS.ProcessEnv } {
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'cargo-home'), { recursive: true });
  writeFileSync(
    join(dir, 'Cargo.toml'),
    `[package]\nname = "consumer"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n${Object.entries(deps)
      .map(([n, r]) => `${JSON.stringify(n)} = "${r}"`)
      .join('\n')}\n`,
  );
  writeFileSync(join(dir, 'src', 'main.rs'), 'fn main() {}\n');
  writeFileSync(
    join(dir, 'cargo-home', 'config.toml'),
    `[source.crates-io]\nreplace-with = "mirror"\n\n[source.mirror]\nregistry = "${registry}"\n\n[net]\nretry = 0\n`,
  );
  return { env: { CARGO_HOME: join(dir, 'cargo-home'), CARGO_TARGET_DIR: join(dir, 'target'), CARGO_TERM_COLOR: 'never' } };
}
