// What the real rustup must be able to do against a dist server (the fixture upstream itself, or
// a mirror of it): the checks shared by the fixture's own proof and the mirror's tests.
import { expect } from 'vitest';
import { HOST, rustcVersion, type DistRelease, type RustupClient } from '../../fixtures/rust-dist.js';

export const STABLE_OLD: DistRelease = { channel: 'stable', date: '2026-08-07', version: '1.89.0' };
export const STABLE: DistRelease = { channel: 'stable', date: '2026-09-18', version: '1.90.0' };
export const BETA: DistRelease = { channel: 'beta', date: '2026-11-20', version: '1.91.0-beta.4' };
export const NIGHTLIES: DistRelease[] = ['2026-11-26', '2026-11-27', '2026-11-28'].map((date) => ({ channel: 'nightly', date, version: '1.92.0-nightly' }));
export const INITIAL: DistRelease[] = [STABLE_OLD, STABLE, BETA, ...NIGHTLIES];
/** Published by upstream between two syncs. */
export const NEW_BETA: DistRelease = { channel: 'beta', date: '2026-11-28', version: '1.91.0-beta.5' };
export const NEW_NIGHTLY: DistRelease = { channel: 'nightly', date: '2026-11-29', version: '1.92.0-nightly' };
export const SECOND_TARGET = 'wasm32-unknown-unknown';

export async function rustupOk(client: RustupClient, args: string[]): Promise<string> {
  const r = await client.run(args);
  if (r.code !== 0) throw new Error(`rustup ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * stable, 1.90, 1.90.0, beta, nightly (default profile), a dated nightly (minimal profile),
 * rust-src and a second target's rust-std added to stable; each toolchain's rustc prints the
 * version of the release it came from.
 */
export async function expectInstalls(client: RustupClient, nightly: DistRelease, datedNightly: DistRelease, beta = BETA): Promise<void> {
  const install = ['toolchain', 'install', '--no-self-update'];
  await rustupOk(client, [...install, 'stable']);
  await rustupOk(client, [...install, '1.90']);
  await rustupOk(client, [...install, '1.90.0']);
  await rustupOk(client, [...install, 'beta']);
  await rustupOk(client, [...install, 'nightly']);
  await rustupOk(client, [...install, '--profile', 'minimal', `nightly-${datedNightly.date}`]);
  await rustupOk(client, ['component', 'add', '--toolchain', 'stable', 'rust-src']);
  await rustupOk(client, ['target', 'add', '--toolchain', 'stable', SECOND_TARGET]);
  const expected: Array<[string, DistRelease]> = [
    ['stable', STABLE],
    ['1.90', STABLE],
    ['1.90.0', STABLE],
    ['beta', beta],
    ['nightly', nightly],
    [`nightly-${datedNightly.date}`, datedNightly],
  ];
  for (const [toolchain, release] of expected) {
    expect((await rustupOk(client, ['run', toolchain, 'rustc', '--version'])).trim()).toBe(`rustc ${rustcVersion(release)}`);
  }
  const components = await rustupOk(client, ['component', 'list', '--installed', '--toolchain', 'stable']);
  expect(components.split('\n')).toEqual(expect.arrayContaining(['rust-src', `rust-std-${SECOND_TARGET}`, `rust-std-${HOST}`, 'clippy-' + HOST]));
  const minimal = await rustupOk(client, ['component', 'list', '--installed', '--toolchain', `nightly-${datedNightly.date}`]);
  expect(minimal.split('\n').filter(Boolean).sort()).toEqual([`cargo-${HOST}`, `rust-std-${HOST}`, `rustc-${HOST}`]);
}
