// Synthetic crates.io git index at real scale, for the crates benchmark.
//
// Shape: 200,000 crate files, 2,000,000 version lines (skewed: most crates have a few versions,
// a few have hundreds), names of realistic lengths (1-3 character names included), lines with
// 0-8 dependencies like the real index (~300 bytes on average). Written in one pass through
// `git fast-import` (a bare repo, two branches):
//   master  day 0: the full index
//   day1    a typical day later: 2,600 crates with 4,800 new versions, 200 new crates,
//           200 yanks (3,000 changed crate files, 5,000 new versions)
// Deterministic (seeded), cached under `dir` keyed by the parameters.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexPathFor } from '../../src/sources/crates/format.js';

export interface CorpusParams {
  crates: number;
  versions: number;
  dayChangedWithVersions: number;
  dayNewVersions: number;
  dayNewCrates: number;
  dayYanks: number;
}

export const REAL_SCALE: CorpusParams = {
  crates: 200_000,
  versions: 2_000_000,
  dayChangedWithVersions: 2_600,
  dayNewVersions: 4_800,
  dayNewCrates: 200,
  dayYanks: 200,
};

export interface Corpus {
  repo: string;
  day0: string;
  day1: string;
  /** Total bytes of index files at day 0. */
  bytes: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const SYLLABLES = ['ser', 'de', 'to', 'kio', 'rand', 'syn', 'quote', 'log', 'core', 'util', 'rs', 'lib', 'web', 'async', 'fs', 'net', 'http', 'json', 'derive', 'macro', 'cli', 'db', 'sql', 'wasm', 'sys', 'ffi', 'bind', 'gen', 'proto', 'hash', 'map', 'time', 'io', 'x', 'tiny', 'fast'];

function makeNames(n: number, r: () => number): string[] {
  const seen = new Set<string>();
  const names: string[] = [];
  const add = (s: string) => {
    if (!seen.has(s.toLowerCase())) {
      seen.add(s.toLowerCase());
      names.push(s);
    }
  };
  // Short names exist but are few, as on crates.io.
  for (const c of ALNUM.slice(0, 26)) add(c);
  for (let i = 0; i < 600; i++) add(ALNUM[Math.floor(r() * 26)] + ALNUM[Math.floor(r() * 36)]);
  for (let i = 0; i < 3000; i++) add(ALNUM[Math.floor(r() * 26)] + ALNUM[Math.floor(r() * 36)] + ALNUM[Math.floor(r() * 36)]);
  while (names.length < n) {
    const parts = 1 + Math.floor(r() * 3);
    let s = '';
    for (let p = 0; p < parts; p++) {
      if (p > 0) s += r() < 0.6 ? '-' : '_';
      s += SYLLABLES[Math.floor(r() * SYLLABLES.length)];
      if (r() < 0.5) s += ALNUM[Math.floor(r() * 26)] + ALNUM[Math.floor(r() * 26)];
    }
    if (r() < 0.3) s += String(Math.floor(r() * 100));
    if (r() < 0.02) s = s[0].toUpperCase() + s.slice(1);
    if (s.length <= 64) add(s);
  }
  return names.slice(0, n);
}

/** Version counts: heavy-tailed, summing to exactly `total`. */
function versionCounts(n: number, total: number, r: () => number): number[] {
  const raw = Array.from({ length: n }, () => 1 / Math.pow(1 - r() * 0.999, 0.9));
  const sum = raw.reduce((a, b) => a + b, 0);
  const counts = raw.map((x) => Math.max(1, Math.floor((x * total) / sum)));
  let diff = total - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; diff !== 0; i = (i + 1) % n) {
    if (diff > 0) {
      counts[i]++;
      diff--;
    } else if (counts[i] > 1) {
      counts[i]--;
      diff++;
    }
  }
  return counts;
}

function hex64(r: () => number): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += Math.floor(r() * 4294967296).toString(16).padStart(8, '0');
  return s;
}

/** One index line, deterministic in (crate index, version index). */
function line(names: string[], ci: number, vi: number, yanked: boolean): string {
  const r = rng(ci * 7919 + vi * 104729 + 1);
  const deps: string[] = [];
  const nd = Math.floor(r() * r() * 9);
  for (let d = 0; d < nd; d++) {
    const dep = names[Math.floor(r() * names.length)];
    const kind = r() < 0.8 ? 'normal' : 'dev';
    deps.push(
      `{"name":"${dep}","req":"^${Math.floor(r() * 3)}.${Math.floor(r() * 20)}","features":[],"optional":${r() < 0.2},"default_features":true,"target":null,"kind":"${kind}"}`,
    );
  }
  const vers = `${Math.floor(vi / 100)}.${Math.floor(vi / 10) % 10}.${vi % 10}`;
  const features = r() < 0.3 ? `{"default":["std"],"std":[]}` : '{}';
  return `{"name":"${names[ci]}","vers":"${vers}","deps":[${deps.join(',')}],"cksum":"${hex64(r)}","features":${features},"yanked":${yanked},"links":null,"v":2}`;
}

function fileContent(names: string[], ci: number, count: number, yankedAt = -1): string {
  let s = '';
  for (let vi = 0; vi < count; vi++) s += line(names, ci, vi, vi === yankedAt) + '\n';
  return s;
}

/** Builds (or reuses) the corpus repository under `dir`. */
export async function buildCorpus(dir: string, p: CorpusParams, log: (m: string) => void): Promise<Corpus> {
  const key = JSON.stringify(p);
  const repo = join(dir, 'index.git');
  const stamp = join(dir, 'corpus.json');
  if (existsSync(stamp)) {
    const c = JSON.parse(readFileSync(stamp, 'utf8')) as Corpus & { key: string };
    if (c.key === key) return c;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  await run('git', ['init', '--quiet', '--bare', '--initial-branch=master', repo]);
  const r = rng(42);
  const names = makeNames(p.crates + p.dayNewCrates, r);
  const counts = versionCounts(p.crates, p.versions, r);

  const fi = spawn('git', ['--git-dir', repo, 'fast-import', '--quiet', '--depth=0'], { stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise<void>((res, rej) => fi.on('close', (code) => (code === 0 ? res() : rej(new Error(`fast-import exit ${code}`)))));
  let buf: string[] = [];
  let bufLen = 0;
  const write = async (s: string) => {
    buf.push(s);
    bufLen += s.length;
    if (bufLen > 1 << 20) {
      const ok = fi.stdin.write(buf.join(''));
      buf = [];
      bufLen = 0;
      if (!ok) await new Promise((res) => fi.stdin.once('drain', res));
    }
  };
  const file = async (path: string, content: string) => {
    await write(`M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
  };
  const commit = async (ref: string, mark: number, msg: string, from?: number) => {
    await write(`commit ${ref}\nmark :${mark}\ncommitter Bench <bench@example.invalid> 1700000000 +0000\ndata ${msg.length}\n${msg}\n`);
    if (from) await write(`from :${from}\n`);
  };

  let bytes = 0;
  await commit('refs/heads/master', 1, 'day 0');
  await file('config.json', '{"dl":"https://static.crates.io/crates","api":"https://crates.io"}\n');
  for (let ci = 0; ci < p.crates; ci++) {
    const content = fileContent(names, ci, counts[ci]);
    bytes += content.length;
    await file(indexPathFor(names[ci]), content);
  }
  log(`crates corpus: day 0 written (${(bytes / 1e6).toFixed(0)} MB of index lines)`);

  // A typical day: new versions on some crates, brand-new crates, a few yanks.
  await commit('refs/heads/day1', 2, 'day 1', 1);
  const touched = new Set<number>();
  const pick = () => {
    for (;;) {
      const ci = Math.floor(r() * p.crates);
      if (!touched.has(ci)) {
        touched.add(ci);
        return ci;
      }
    }
  };
  let extra = p.dayNewVersions;
  for (let k = 0; k < p.dayChangedWithVersions; k++) {
    const ci = pick();
    const add = k < p.dayChangedWithVersions - 1 ? Math.max(1, Math.min(extra - (p.dayChangedWithVersions - 1 - k), r() < 0.85 ? 1 : 1 + Math.floor(r() * 6))) : extra;
    extra -= add;
    await file(indexPathFor(names[ci]), fileContent(names, ci, counts[ci] + add));
  }
  for (let k = 0; k < p.dayYanks; k++) {
    const ci = pick();
    await file(indexPathFor(names[ci]), fileContent(names, ci, counts[ci], Math.floor(r() * counts[ci])));
  }
  for (let k = 0; k < p.dayNewCrates; k++) {
    const ci = p.crates + k;
    await file(indexPathFor(names[ci]), fileContent(names, ci, 1));
  }
  fi.stdin.end(buf.join(''));
  await done;
  const day0 = (await run('git', ['--git-dir', repo, 'rev-parse', 'master'])).trim();
  const day1 = (await run('git', ['--git-dir', repo, 'rev-parse', 'day1'])).trim();
  const corpus: Corpus = { repo, day0, day1, bytes };
  writeFileSync(stamp, JSON.stringify({ ...corpus, key }));
  log(`crates corpus: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return corpus;
}

export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`${cmd} ${args[0]} exit ${code}`))));
  });
}
