// Unit tests of the rustup source's pure parts: manifest parsing, manifests.txt discovery,
// target/package/format selection, retention, options.
import { describe, expect, it } from 'vitest';
import { HOST_TARGETS, releaseArchives, sampleManifest, STD_TARGETS, type DistRelease } from '../../fixtures/rust-dist.js';
import { parseManifestList, parsePin, probeDates } from '../../src/sources/rustup/discovery.js';
import { ManifestError, parseManifest, readShaFile, stableVersion } from '../../src/sources/rustup/manifest.js';
import { readRustupOptions } from '../../src/sources/rustup/options.js';
import { archivesOf, packageFilter, selectReleases, targetFilter, type Release } from '../../src/sources/rustup/selection.js';

const NIGHTLY: DistRelease = { channel: 'nightly', date: '2026-11-28', version: '1.92.0-nightly' };
const STABLE: DistRelease = { channel: 'stable', date: '2026-09-18', version: '1.90.0' };

function manifestWith(body: string): string {
  return `manifest-version = "2"\ndate = "2026-11-28"\n${body}`;
}

describe('parseManifest', () => {
  it('reads every package target of a v2 manifest: archives with both formats, unavailable targets, renames, profiles', () => {
    const m = parseManifest(sampleManifest(NIGHTLY), 'nightly');
    expect(m.date).toBe('2026-11-28');
    expect(m.rustVersion).toMatch(/^1\.92\.0-nightly \(/);
    expect(m.renames.get('clippy')).toBe('clippy-preview');
    expect(m.profiles.get('minimal')).toEqual(['rustc', 'cargo', 'rust-std', 'rust-mingw']);
    const rustc = m.targets.find((t) => t.pkg === 'rustc' && t.target === 'x86_64-unknown-linux-gnu')!;
    expect(rustc.available).toBe(true);
    expect(rustc.gz!.path).toBe('dist/2026-11-28/rustc-nightly-x86_64-unknown-linux-gnu.tar.gz');
    expect(rustc.xz!.path).toBe('dist/2026-11-28/rustc-nightly-x86_64-unknown-linux-gnu.tar.xz');
    expect(rustc.xz!.sha256).toMatch(/^[0-9a-f]{64}$/);
    const src = m.targets.find((t) => t.pkg === 'rust-src')!;
    expect(src.target).toBe('*');
    expect(src.xz!.path).toBe('dist/2026-11-28/rust-src-nightly.tar.xz');
    const unavailable = m.targets.filter((t) => !t.available);
    expect(unavailable.map((t) => `${t.pkg}/${t.target}`)).toEqual(['rust-analyzer-preview/x86_64-apple-darwin']);
    expect(unavailable[0].gz).toBeUndefined();
    // Every file the fixture built is referenced, and nothing else.
    const paths = m.targets.flatMap((t) => archivesOf(t, 'both').map((a) => a.path)).sort();
    expect(paths).toEqual(releaseArchives(NIGHTLY).sort());
  });

  it('reads the stable version and ignores unknown tables such as [artifacts]', () => {
    const text = sampleManifest(STABLE) + '\n[artifacts.source-code]\n[[artifacts.source-code.target."*"]]\nurl = "https://static.rust-lang.org/dist/x.tar.xz"\nhash-sha256 = "00"\n';
    const m = parseManifest(text, 'stable');
    expect(stableVersion(m.rustVersion)).toBe('1.90.0');
    expect(stableVersion('1.91.0-beta.4 (abc 2026-11-18)')).toBeNull();
    expect(stableVersion('1.92.0-nightly (abc 2026-11-18)')).toBeNull();
  });

  it('a manifest without xz archives has only the gz one', () => {
    const m = parseManifest(
      manifestWith(`[pkg.cargo]\nversion = "x"\n[pkg.cargo.target.x86_64-unknown-linux-gnu]\navailable = true\nurl = "https://static.rust-lang.org/dist/2016-01-01/cargo-nightly-x86_64-unknown-linux-gnu.tar.gz"\nhash = "${'a'.repeat(64)}"\n`),
      'old',
    );
    expect(m.targets[0].xz).toBeUndefined();
    expect(archivesOf(m.targets[0], 'xz').map((a) => a.path)).toEqual(['dist/2016-01-01/cargo-nightly-x86_64-unknown-linux-gnu.tar.gz']);
  });

  const target = (fields: string) => manifestWith(`[pkg.rustc]\nversion = "x"\n[pkg.rustc.target.x86_64-unknown-linux-gnu]\n${fields}\n`);
  const hash = `hash = "${'b'.repeat(64)}"`;
  it.each([
    ['not TOML', 'manifest-version = ', /not valid TOML/],
    ['manifest version 1', 'manifest-version = "1"\ndate = "2026-11-28"\n[pkg]\n', /manifest-version "1" is not "2"/],
    ['a bad date', 'manifest-version = "2"\ndate = "2026-13-01"\n[pkg]\n', /date "2026-13-01" is not YYYY-MM-DD/],
    ['no pkg table', 'manifest-version = "2"\ndate = "2026-11-28"\n', /no \[pkg\] table/],
    ['a path outside dist/', target(`available = true\nurl = "https://static.rust-lang.org/rustup/x.tar.gz"\n${hash}`), /is not under \/dist\//],
    ['a .. segment', target(`available = true\nurl = "https://static.rust-lang.org/dist/x%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd"\n${hash}`), /'\.\.' segment/],
    ['a non-http URL', target(`available = true\nurl = "file:///etc/passwd"\n${hash}`), /not http\(s\)/],
    ['a short hash', target(`available = true\nurl = "https://static.rust-lang.org/dist/a.tar.gz"\nhash = "abc"`), /hash is not a sha256/],
    ['available without url', target('available = true'), /available but no url/],
    ['a hostile target name', manifestWith(`[pkg.rustc]\nversion = "x"\n[pkg.rustc.target."../x"]\navailable = false\n`), /target "..\/x" is not a plain triple/],
    ['a hostile package name', manifestWith(`[pkg."a/b"]\nversion = "x"\n[pkg."a/b".target.x]\navailable = false\n`), /package name "a\/b"/],
  ])('rejects %s, naming the manifest and the field', (_what, text, message) => {
    expect(() => parseManifest(text, 'dist/channel-rust-nightly.toml')).toThrow(ManifestError);
    expect(() => parseManifest(text, 'dist/channel-rust-nightly.toml')).toThrow(message);
    expect(() => parseManifest(text, 'dist/channel-rust-nightly.toml')).toThrow(/^dist\/channel-rust-nightly\.toml: /);
  });

  it('reads a .sha256 file', () => {
    expect(readShaFile(`${'A'.repeat(64)}  channel-rust-stable.toml\n`)).toBe('a'.repeat(64));
    expect(readShaFile('<html>not found</html>')).toBeNull();
    expect(readShaFile('')).toBeNull();
  });
});

describe('manifests.txt discovery', () => {
  it('lists the distinct channel releases by date, skipping version copies and foreign lines', () => {
    const text = [
      'static.rust-lang.org/dist/2026-11-27/channel-rust-nightly.toml',
      'static.rust-lang.org/dist/2026-09-18/channel-rust-stable.toml',
      'static.rust-lang.org/dist/2026-09-18/channel-rust-1.90.0.toml',
      'static.rust-lang.org/dist/2026-09-18/channel-rust-1.90.toml',
      'static.rust-lang.org/dist/2026-11-27/channel-rust-nightly.toml',
      'static.rust-lang.org/dist/2026-11-20/channel-rust-beta.toml',
      'static.rust-lang.org/dist/2026-02-30x/channel-rust-nightly.toml',
      'static.rust-lang.org/dist/2026-11-21/channel-rust-evil.toml',
      '<html>',
      '',
    ].join('\n');
    const { releases, ignored } = parseManifestList(text);
    expect(releases).toEqual([
      { channel: 'stable', date: '2026-09-18' },
      { channel: 'beta', date: '2026-11-20' },
      { channel: 'nightly', date: '2026-11-27' },
    ]);
    expect(ignored).toBe(3);
  });

  it('probes calendar days back from the newest, across month ends', () => {
    expect(probeDates('2026-03-02', 4)).toEqual(['2026-03-02', '2026-03-01', '2026-02-28', '2026-02-27']);
  });

  it('tells date pins from version pins', () => {
    expect(parsePin('2026-11-27')).toEqual({ kind: 'date', date: '2026-11-27' });
    expect(parsePin('1.90.0')).toEqual({ kind: 'version', version: '1.90.0' });
    expect(parsePin('1.90')).toBeNull();
    expect(parsePin('latest')).toBeNull();
  });
});

describe('selection', () => {
  it('targets: triples and aliases; * always passes', () => {
    const linux = targetFilter(['linux']);
    expect(HOST_TARGETS.filter(linux)).toEqual(HOST_TARGETS.filter((t) => t.includes('-linux-')));
    expect(linux('x86_64-unknown-linux-musl')).toBe(true);
    expect(linux('x86_64-pc-windows-msvc')).toBe(false);
    expect(linux('*')).toBe(true);
    expect(targetFilter(['windows'])('x86_64-pc-windows-msvc')).toBe(true);
    expect(targetFilter(['darwin'])('x86_64-apple-darwin')).toBe(true);
    expect(targetFilter(['darwin'])('aarch64-apple-ios')).toBe(false);
    expect([...HOST_TARGETS, ...STD_TARGETS].every(targetFilter(['all']))).toBe(true);
    const exact = targetFilter(['wasm32-unknown-unknown']);
    expect(exact('wasm32-unknown-unknown')).toBe(true);
    expect(exact('wasm32-wasip1')).toBe(false);
    expect(() => targetFilter(['../etc'])).toThrow(/neither a target triple nor one of/);
  });

  it('packages: include by name or old name, exclude wins', () => {
    const renames = new Map([['clippy', 'clippy-preview']]);
    const only = packageFilter(['rustc', 'clippy'], [], renames);
    expect(['rustc', 'clippy-preview', 'cargo'].filter(only)).toEqual(['rustc', 'clippy-preview']);
    const all = packageFilter([], ['rust', 'clippy'], renames);
    expect(['rust', 'rustc', 'clippy-preview'].filter(all)).toEqual(['rustc']);
  });

  it('formats: xz, gz, both', () => {
    const m = parseManifest(sampleManifest(NIGHTLY), 'n');
    const cargo = m.targets.find((t) => t.pkg === 'cargo' && t.target === 'x86_64-unknown-linux-gnu')!;
    expect(archivesOf(cargo, 'xz').map((a) => a.path)).toEqual([cargo.xz!.path]);
    expect(archivesOf(cargo, 'gz').map((a) => a.path)).toEqual([cargo.gz!.path]);
    expect(archivesOf(cargo, 'both').map((a) => a.path)).toEqual([cargo.gz!.path, cargo.xz!.path]);
    expect(archivesOf({ pkg: 'x', target: 't', available: false }, 'both')).toEqual([]);
  });

  const releases: Release[] = [
    ...['2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28'].map((date) => ({ channel: 'nightly' as const, date })),
    ...['2026-11-13', '2026-11-20'].map((date) => ({ channel: 'beta' as const, date })),
    ...['2026-06-26', '2026-08-07', '2026-09-18'].map((date) => ({ channel: 'stable' as const, date })),
  ];
  const policy = (over: Partial<Parameters<typeof selectReleases>[1]>) => ({
    channels: new Set(['stable', 'beta', 'nightly'] as const),
    keep: { nightly: 2, beta: 1, stable: 'all' as const },
    since: null,
    pinnedDates: new Set<string>(),
    ...over,
  });

  it('retention keeps the N latest of each channel, counted over upstream list, never by the clock', () => {
    const kept = selectReleases(releases, policy({}));
    expect(kept.map((r) => `${r.channel}/${r.date}`)).toEqual([
      'stable/2026-09-18',
      'stable/2026-08-07',
      'stable/2026-06-26',
      'beta/2026-11-20',
      'nightly/2026-11-28',
      'nightly/2026-11-27',
    ]);
    expect(selectReleases(releases, policy({ keep: { nightly: 0, beta: 0, stable: 1 } })).map((r) => r.date)).toEqual(['2026-09-18']);
  });

  it('retention: --since backfills, --pin keeps a date, channels not asked for are dropped', () => {
    const kept = selectReleases(releases, policy({ channels: new Set(['nightly'] as const), since: '2026-11-26', pinnedDates: new Set(['2026-11-13']) }));
    expect(kept.map((r) => r.date)).toEqual(['2026-11-28', '2026-11-27', '2026-11-26']);
    const pinned = selectReleases(releases, policy({ keep: { nightly: 1, beta: 0, stable: 0 }, pinnedDates: new Set(['2026-11-25', '2026-08-07']) }));
    expect(pinned.map((r) => `${r.channel}/${r.date}`)).toEqual(['stable/2026-08-07', 'nightly/2026-11-28', 'nightly/2026-11-25']);
  });
});

describe('options', () => {
  it('defaults: stable channel, xz, keep 7 nightlies / 7 betas / every stable', () => {
    const o = readRustupOptions({ target: ['x86_64-unknown-linux-gnu'] });
    expect([...o.channels]).toEqual(['stable']);
    expect(o.format).toBe('xz');
    expect(o.keep).toEqual({ nightly: 7, beta: 7, stable: 'all' });
    expect(o.rustupInit).toBe(false);
    expect(o.keyring).toBeNull();
  });

  it.each([
    [{}, /--target is required/],
    [{ target: ['linux'], channel: ['dev'] }, /--channel 'dev' is not one of stable, beta, nightly/],
    [{ target: ['linux', 'x/y'] }, /--target 'x\/y' is neither/],
    [{ target: ['linux'], format: 'zst' }, /--format 'zst' is not one of xz, gz, both/],
    [{ target: ['linux'], 'keep-nightly': '-1' }, /--keep-nightly '-1' must be a whole number/],
    [{ target: ['linux'], 'keep-stable': 'some' }, /--keep-stable 'some'/],
    [{ target: ['linux'], pin: ['yesterday'] }, /--pin 'yesterday' is neither a date/],
    [{ target: ['linux'], since: '2026-1-1' }, /--since '2026-1-1' is not a date/],
    [{ target: ['linux'], component: ['../x'] }, /--component '..\/x' is not a package name/],
  ])('rejects %j with a message naming the flag', (values, message) => {
    expect(() => readRustupOptions(values)).toThrow(message);
  });
});
