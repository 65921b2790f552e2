// Shared pieces of the benchmarks: a cache dir, timing a child command with its peak RSS
// (via /usr/bin/time), a static server in its own process, and the compiled CLI's path.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = join(here, '..', '..', '..');
export const MIRROR_BIN = join(REPO, 'bin', 'mirror.js');
export const CACHE = join(REPO, '.bench');
/** Runs (or rounds) per tool: BENCH_REPEAT, default 3; the machines are noisy. */
export const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));

export function cacheDir(name: string): string {
  const dir = join(CACHE, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface Timed {
  seconds: number;
  maxRssMb: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command under /usr/bin/time -v, returning wall seconds and peak RSS. */
export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const report = join(CACHE, `time-${process.pid}-${Date.now()}.txt`);
  mkdirSync(CACHE, { recursive: true });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-v', '-o', report, cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const text = readFileSync(report, 'utf8');
      rmSync(report, { force: true });
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1] ?? 0) / 1024;
      resolve({ seconds, maxRssMb: rss, code, stdout, stderr });
    });
  });
}

/** `timed`, throwing (with the tail of the command's stderr and stdout) when it exits non-zero. */
export async function timedOk(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const t = await timed(cmd, args, env);
  if (t.code !== 0) throw new Error(`${name} failed (exit ${t.code}):\n${t.stderr.slice(-2000)}${t.stdout.slice(-2000)}`);
  return t;
}

/** Starts test/helpers/static-server.ts in a child process serving `root`; resolves its URL. */
export function serveInChild(root: string): Promise<{ url: string; stop(): void }> {
  const script = join(here, 'serve-dir.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (d) => resolve({ url: String(d).trim(), stop: () => child.kill() }));
    child.on('error', reject);
  });
}

export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}
