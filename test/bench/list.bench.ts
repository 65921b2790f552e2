// Core engine benchmark: `mirror sync list` of 20,000 small files (2-64 KiB) from a local
// server, against a baseline in the same run: a bare undici download loop (same concurrency,
// no hashing, no fsync, no DB) into an empty directory. Then the no-op rerun.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { makeCorpus } from '../../src/demo/fixture-upstream.js';
import { cacheDir, MIRROR_BIN, ratio, serveInChild, timed } from './bench-util.js';

const FILES = Number(process.env.BENCH_FILES ?? 20_000);
const CONCURRENCY = 32;
const root = cacheDir(`list-corpus-${FILES}`);
const corpusDir = join(root, 'upstream');

if (!existsSync(join(root, 'ready'))) {
  process.stdout.write(`generating ${FILES} files of 2-64 KiB…\n`);
  rmSync(corpusDir, { recursive: true, force: true });
  const sums: string[] = [];
  for (const f of makeCorpus(FILES, 2026, 2048, 64 * 1024)) {
    const abs = join(corpusDir, f.path);
    mkdirSync(join(abs, '..'), { recursive: true });
    writeFileSync(abs, f.content);
    sums.push(JSON.stringify({ path: f.path, sha256: createHash('sha256').update(f.content).digest('hex'), size: f.content.length }));
  }
  writeFileSync(join(root, 'sums.template'), sums.join('\n') + '\n');
  writeFileSync(join(root, 'ready'), '');
}

const server = await serveInChild(corpusDir);
try {
  const { readFileSync } = await import('node:fs');
  const template = readFileSync(join(root, 'sums.template'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; sha256: string; size: number });
  const totalBytes = template.reduce((n, r) => n + r.size, 0);
  const urls = template.map((r) => `${server.url}/${r.path}`);
  const listFile = join(root, 'urls.txt');
  const sumsFile = join(root, 'sums.jsonl');
  writeFileSync(listFile, urls.join('\n') + '\n');
  writeFileSync(sumsFile, template.map((r, i) => JSON.stringify({ url: urls[i], sha256: r.sha256, size: r.size })).join('\n') + '\n');

  const baselineDest = join(root, 'baseline-out');
  rmSync(baselineDest, { recursive: true, force: true });
  const baseline = await timed(process.execPath, [join(import.meta.dirname, 'undici-baseline.js'), listFile, baselineDest, String(CONCURRENCY)]);
  if (baseline.code !== 0) throw new Error(`baseline failed: ${baseline.stderr}`);

  const dest = join(root, 'mirror-out');
  rmSync(dest, { recursive: true, force: true });
  const args = ['sync', 'list', listFile, dest, '--checksums', sumsFile, '--concurrency', String(CONCURRENCY), '--no-progress', '--log-level', 'warn'];
  const first = await timed(process.execPath, [MIRROR_BIN, ...args]);
  if (first.code !== 0) throw new Error(`mirror sync failed: ${first.stderr}`);
  const noop = await timed(process.execPath, [MIRROR_BIN, ...args]);
  const count = readdirSync(join(dest, new URL(server.url).host, 'pool')).length;

  const mb = totalBytes / 1e6;
  const line = (name: string, t: { seconds: number; maxRssMb: number }) =>
    `${name.padEnd(28)} ${t.seconds.toFixed(2).padStart(7)} s  ${(FILES / t.seconds).toFixed(0).padStart(6)} files/s  ${(mb / t.seconds).toFixed(1).padStart(6)} MB/s  peak RSS ${t.maxRssMb.toFixed(0)} MB`;
  process.stdout.write(`${FILES} files, ${mb.toFixed(1)} MB, concurrency ${CONCURRENCY} (${count} dirs)\n`);
  process.stdout.write(line('baseline (bare undici loop)', baseline) + '\n');
  process.stdout.write(line('mirror sync (first)', first) + '\n');
  process.stdout.write(`mirror sync no-op rerun        ${noop.seconds.toFixed(2)} s  peak RSS ${noop.maxRssMb.toFixed(0)} MB\n`);
  process.stdout.write(`mirror / baseline files/s: ${ratio(baseline.seconds, first.seconds)}; no-op rerun / first sync time: ${ratio(noop.seconds, first.seconds)}\n`);
} finally {
  server.stop();
}
