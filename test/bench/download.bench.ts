// Downloader benchmark: `mirror sync list` against the peers people use (aria2c -j 64,
// wget2 --max-threads 64, curl --parallel --parallel-max 64), all fetching the same corpus from
// nginx on 127.0.0.1 over HTTP/1.1 and over HTTP/2 with TLS, each into an empty directory.
// Corpus: 20,000 files of 2-64 KiB and 8 files of 256 MiB (scaled down if disk is short).
// Ceilings measured in the same run: `curl -o /dev/null` (one stream, best of BENCH_REPEAT) for the big files, and
// `wrk` (HTTP/1.1, 64 connections) for small-file requests per second.
// mirror verifies every checksum while downloading; the peers do not, so their output is
// checked afterwards (untimed) to make sure they fetched the right bytes.
// The machines are shared and noisy: every tool runs BENCH_REPEAT times (default 3), the tools
// interleaved round by round, and each tool's best run is compared (noise only ever adds time).
// Knobs (env): BENCH_SMALL_FILES, BENCH_BIG_FILES, BENCH_BIG_MIB, BENCH_PROTOCOLS (http1,h2),
// BENCH_SETS (small,big), BENCH_TOOLS (mirror,mirror-64,mirror-http1,downloader,aria2c,wget2,
// curl,c-pipe-file,c-pipe-null), BENCH_REPEAT. mirror-http1 (`--http1`) runs over TLS only.
// `downloader` is the HTTP layer alone (no DB, no fsync): it shows what the engine's durability
// work costs on top.
// Big set only, a C reference for "download + sha256 + write" (not a peer, never the fastest):
// `c-pipe-file` runs one `curl | tee FILE | openssl dgst -sha256` pipeline per file, all in
// parallel; `c-pipe-null` the same without tee (hashing alone, nothing written). Their printed
// digests (and c-pipe-file's files) must match the corpus.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync, openSync, writeSync, closeSync, createReadStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cacheDir, MIRROR_BIN, ratio, REPEAT, timed, type Timed } from './bench-util.js';
import { makeSelfSignedCert } from '../helpers/fault-server.js';

const SMALL_FILES = Number(process.env.BENCH_SMALL_FILES ?? 20_000);
let BIG_FILES = Number(process.env.BENCH_BIG_FILES ?? 8);
let BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 256);
const PROTOCOLS = (process.env.BENCH_PROTOCOLS ?? 'http1,h2').split(',');
const SETS = (process.env.BENCH_SETS ?? 'small,big').split(',');
const TOOLS = (process.env.BENCH_TOOLS ?? 'mirror,mirror-64,mirror-http1,downloader,aria2c,wget2,curl,c-pipe-file,c-pipe-null').split(',');
const PARALLEL = 64;
const C_PIPES: Record<string, string> = { 'c-pipe-file': 'curl | tee FILE | openssl dgst -sha256', 'c-pipe-null': 'curl | openssl dgst -sha256' };
const DEB_PACKAGES: Record<string, string> = { nginx: 'nginx', aria2c: 'aria2', wget2: 'wget2', curl: 'curl', wrk: 'wrk', openssl: 'openssl' };

const out = (s: string) => process.stdout.write(s + '\n');

// ---- tools -------------------------------------------------------------------------------

function ensureTools(): void {
  const missing = Object.entries(DEB_PACKAGES).filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`]).status !== 0);
  if (missing.length === 0) return;
  const pkgs = missing.map(([, p]) => p);
  out(`installing ${pkgs.join(' ')} from Debian…`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? '?';
}

// ---- corpus ------------------------------------------------------------------------------

interface FileSum {
  path: string;
  sha256: string;
  size: number;
}

/** Deterministic pseudo-random bytes: AES-128-CTR keystream keyed by (name, seed). */
function keystream(name: string): (n: number) => Buffer {
  const key = createHash('sha256').update(`mirror-bench:${name}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return (n) => cipher.update(Buffer.alloc(n));
}

function ensureCorpus(root: string): { www: string; small: FileSum[]; big: FileSum[] } {
  // One directory per corpus shape, so a scaled-down run never clobbers the full corpus.
  const dir = join(root, `s${SMALL_FILES}-b${BIG_FILES}x${BIG_MIB}`);
  const www = join(dir, 'www');
  const marker = join(dir, 'ready.json');
  if (existsSync(marker)) return { www, ...JSON.parse(readFileSync(marker, 'utf8')) };
  rmSync(dir, { recursive: true, force: true });
  out(`generating corpus: ${SMALL_FILES} files of 2-64 KiB, ${BIG_FILES} × ${BIG_MIB} MiB…`);
  const small: FileSum[] = [];
  const rand = keystream('sizes');
  for (let i = 0; i < SMALL_FILES; i++) {
    const size = 2048 + (rand(4).readUInt32LE(0) % (62 * 1024 + 1));
    const path = `small/${String(i % 100).padStart(2, '0')}/crate-${i}.crate`;
    const content = keystream(path)(size);
    mkdirSync(join(www, path, '..'), { recursive: true });
    writeFileSync(join(www, path), content);
    small.push({ path, sha256: createHash('sha256').update(content).digest('hex'), size });
  }
  const big: FileSum[] = [];
  mkdirSync(join(www, 'big'), { recursive: true });
  for (let i = 0; i < BIG_FILES; i++) {
    const path = `big/blob-${i}.bin`;
    const next = keystream(path);
    const hash = createHash('sha256');
    const fd = openSync(join(www, path), 'w');
    for (let left = BIG_MIB * 1024 * 1024; left > 0; ) {
      const chunk = next(Math.min(left, 8 << 20));
      hash.update(chunk);
      writeSync(fd, chunk);
      left -= chunk.length;
    }
    closeSync(fd);
    big.push({ path, sha256: hash.digest('hex'), size: BIG_MIB * 1024 * 1024 });
  }
  writeFileSync(marker, JSON.stringify({ small, big }));
  return { www, small, big };
}

// ---- nginx -------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startNginx(work: string, wwwRoot: string): Promise<{ http1: string; h2: string; cert: string; stop(): void }> {
  const dir = join(work, 'nginx');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  makeSelfSignedCert(dir); // writes key.pem and cert.pem into dir
  const [p1, p2] = [await freePort(), await freePort()];
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, 'tmp', t)};`).join('\n    ');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
user root;
worker_processes 2;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
    ${temp}
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
    server { listen 127.0.0.1:${p1}; root ${wwwRoot}; }
    server {
        listen 127.0.0.1:${p2} ssl http2;
        ssl_certificate ${cert};
        ssl_certificate_key ${key};
        http2_max_concurrent_streams 256;
        root ${wwwRoot};
    }
}
`,
  );
  const child = spawn('nginx', ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const http1 = `http://127.0.0.1:${p1}`;
  const h2 = `https://127.0.0.1:${p2}`;
  for (let i = 0; i < 100; i++) {
    if (spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${http1}/`]).status === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { http1, h2, cert, stop: () => child.kill('SIGTERM') };
}

// ---- runs --------------------------------------------------------------------------------

interface RunResult extends Timed {
  tool: string;
  ok: number;
  bad: number;
}

/** Counts files under `dir` whose bytes match the corpus (untimed correctness check). */
async function verifyTree(dir: string, files: FileSum[]): Promise<{ ok: number; bad: number }> {
  let ok = 0;
  for (const f of files) {
    const path = join(dir, f.path);
    if (!existsSync(path)) continue;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    if (hash.digest('hex') === f.sha256) ok++;
  }
  return { ok, bad: files.length - ok };
}

async function runTool(tool: string, base: string, files: FileSum[], work: string, cert: string, tls: boolean): Promise<RunResult> {
  const dest = join(work, `out-${tool}`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const urls = files.map((f) => `${base}/${f.path}`);
  // Every tool starts with no dirty pages from the previous one waiting to be written back.
  execFileSync('sync');
  let t: Timed;
  let tree = dest;
  let digested: FileSum[] | undefined; // C pipelines: the files whose printed sha256 is the corpus's
  switch (tool) {
    case 'mirror':
    case 'mirror-64':
    case 'mirror-http1': {
      const list = join(work, 'urls.txt');
      const sums = join(work, 'sums.jsonl');
      writeFileSync(list, urls.join('\n') + '\n');
      writeFileSync(sums, files.map((f, i) => JSON.stringify({ url: urls[i], sha256: f.sha256, size: f.size })).join('\n') + '\n');
      const conc = tool === 'mirror-64' ? String(PARALLEL) : 'auto';
      const http1 = tool === 'mirror-http1' ? ['--http1'] : [];
      t = await timed(process.execPath, [MIRROR_BIN, 'sync', 'list', list, dest, '--checksums', sums, '--concurrency', conc, ...http1, '--no-progress', '--log-level', 'warn'], {
        NODE_EXTRA_CA_CERTS: cert,
      });
      tree = join(dest, new URL(base).host);
      break;
    }
    case 'downloader': {
      // The HTTP layer alone (Downloader class, tmp + rename, no DB, no fsync).
      const sums = join(work, 'sums-paths.jsonl');
      writeFileSync(sums, files.map((f, i) => JSON.stringify({ url: urls[i], sha256: f.sha256, size: f.size, path: f.path })).join('\n') + '\n');
      t = await timed(process.execPath, [join(import.meta.dirname, 'downloader-only.js'), sums, dest, 'auto'], { NODE_EXTRA_CA_CERTS: cert, UV_THREADPOOL_SIZE: '16' });
      break;
    }
    case 'aria2c': {
      const input = join(work, 'aria2.txt');
      writeFileSync(input, files.map((f, i) => `${urls[i]}\n  out=${f.path}\n`).join(''));
      t = await timed('aria2c', [
        '-i', input, '-d', dest, '-j', String(PARALLEL), '--deferred-input=true', '--file-allocation=none', '--allow-overwrite=true',
        '--auto-file-renaming=false', '--console-log-level=warn', '--summary-interval=0', '--download-result=hide', '-q',
        ...(tls ? ['--ca-certificate', cert] : []),
      ]);
      break;
    }
    case 'wget2': {
      const input = join(work, 'wget2.txt');
      writeFileSync(input, urls.join('\n') + '\n');
      t = await timed('wget2', [
        '-q', '--max-threads', String(PARALLEL), '-i', input, '-P', dest, '-x', '-nH', '--no-robots', '--hsts=off', '--no-hpkp',
        '--compression=identity', ...(tls ? ['--ca-certificate', cert, '--http2'] : []),
      ]);
      break;
    }
    case 'curl': {
      const config = join(work, 'curl.cfg');
      writeFileSync(config, files.map((f, i) => `url = "${urls[i]}"\noutput = "${join(dest, f.path)}"\n`).join(''));
      t = await timed('curl', ['-s', '--parallel', '--parallel-max', String(PARALLEL), '--create-dirs', '-K', config, ...(tls ? ['--cacert', cert, '--http2'] : ['--http1.1'])]);
      break;
    }
    case 'c-pipe-file':
    case 'c-pipe-null': {
      const curlArgs = tls ? `--cacert '${cert}' --http2` : '--http1.1';
      for (const f of files) mkdirSync(join(dest, f.path, '..'), { recursive: true });
      const pipelines = files.map((f, i) => {
        const tee = tool === 'c-pipe-file' ? ` | tee '${join(dest, f.path)}'` : '';
        return `{ d=$(curl -s ${curlArgs} '${urls[i]}'${tee} | openssl dgst -sha256 -r) && echo "${i} $d"; } &`;
      });
      t = await timed('sh', ['-c', `${pipelines.join('\n')}\nwait\n`]);
      const printed = new Set(t.stdout.split('\n'));
      digested = files.filter((f, i) => printed.has(`${i} ${f.sha256} *stdin`));
      break;
    }
    default:
      throw new Error(`unknown tool ${tool}`);
  }
  if (t.code !== 0) out(`  ${tool} exited ${t.code}: ${t.stderr.slice(0, 300).trim()}`);
  const ok = tool === 'c-pipe-null' ? digested!.length : (await verifyTree(tree, digested ?? files)).ok;
  rmSync(dest, { recursive: true, force: true });
  return { ...t, tool, ok, bad: files.length - ok };
}

async function bestOf(measure: () => Promise<Timed>): Promise<Timed> {
  let best: Timed | undefined;
  for (let i = 0; i < REPEAT; i++) {
    const t = await measure();
    if (!best || t.seconds < best.seconds) best = t;
  }
  return best!;
}

/** Single-stream ceiling for big files: curl, one file after the other, into /dev/null or a file. */
async function curlLimit(base: string, files: FileSum[], cert: string, tls: boolean, intoDir?: string): Promise<Timed> {
  const args = ['-s', ...(tls ? ['--cacert', cert, '--http2'] : [])];
  if (intoDir) {
    rmSync(intoDir, { recursive: true, force: true });
    mkdirSync(intoDir, { recursive: true });
  }
  for (const [i, f] of files.entries()) args.push('-o', intoDir ? join(intoDir, `f${i}`) : '/dev/null', `${base}/${f.path}`);
  execFileSync('sync');
  const t = await timed('curl', args);
  if (intoDir) rmSync(intoDir, { recursive: true, force: true });
  return t;
}

/** Small-file request ceiling: wrk (HTTP/1.1, 64 connections) cycling through the corpus. */
async function wrkLimit(base: string, files: FileSum[], work: string): Promise<number> {
  const script = join(work, 'paths.lua');
  const paths = files.slice(0, 5000).map((f) => `"/${f.path}"`);
  writeFileSync(script, `local paths = {${paths.join(',')}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n`);
  const r = spawnSync('wrk', ['-t', '2', '-c', String(PARALLEL), '-d', '5s', '-s', script, base], { encoding: 'utf8' });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
}

// ---- main --------------------------------------------------------------------------------

const root = cacheDir('download-corpus');
const work = cacheDir('download-work');
const freeGiB = (() => {
  const s = statfsSync(root);
  return (s.bavail * s.bsize) / 1024 ** 3;
})();
// Corpus + one tool's output at a time: about 2.2 × the big set must fit, plus slack.
const needGiB = (BIG_FILES * BIG_MIB * 2.2) / 1024 + 3;
if (SETS.includes('big') && freeGiB < needGiB) {
  const scaled = Math.max(16, Math.floor(((freeGiB - 3) * 1024) / 2.2 / BIG_FILES / 16) * 16);
  out(`only ${freeGiB.toFixed(1)} GiB free (need ~${needGiB.toFixed(1)}): big files scaled from ${BIG_MIB} to ${scaled} MiB`);
  BIG_MIB = scaled;
}
if (BIG_FILES < 1) BIG_FILES = 1;

ensureTools();
const corpus = ensureCorpus(root);
const nginx = await startNginx(work, corpus.www);
const cleanup = () => nginx.stop();
process.on('exit', cleanup);

out(`tools: ${version('nginx', ['-v'])}; ${version('aria2c', ['--version'])}; ${version('wget2', ['--version'])}; ${version('curl', ['--version'])}`);
out(`corpus: ${corpus.small.length} small files (${(corpus.small.reduce((n, f) => n + f.size, 0) / 2 ** 20).toFixed(0)} MiB), ${corpus.big.length} × ${BIG_MIB} MiB; ${PARALLEL}-way peers; 2 cores shared with nginx`);

const summary: string[] = [];
try {
  for (const proto of PROTOCOLS) {
    const tls = proto === 'h2';
    const base = tls ? nginx.h2 : nginx.http1;
    for (const set of SETS) {
      const files = set === 'small' ? corpus.small : corpus.big;
      const bytes = files.reduce((n, f) => n + f.size, 0);
      out(`\n--- ${set} files over ${tls ? 'HTTP/2 + TLS' : 'HTTP/1.1'} (${files.length} files, ${(bytes / 2 ** 20).toFixed(0)} MiB) ---`);
      // C pipelines are for big files; mirror --http1 differs from mirror only over TLS.
      const tools = TOOLS.filter((t) => (set === 'big' || !(t in C_PIPES)) && (tls || t !== 'mirror-http1'));
      const runs = new Map<string, RunResult[]>(tools.map((t) => [t, []]));
      for (let round = 1; round <= REPEAT; round++) {
        for (const tool of tools) {
          const r = await runTool(tool, base, files, work, nginx.cert, tls);
          runs.get(tool)!.push(r);
          out(
            `${`${tool} #${round}`.padEnd(14)} ${r.seconds.toFixed(2).padStart(7)} s ${(files.length / r.seconds).toFixed(0).padStart(7)} files/s ${(bytes / 2 ** 20 / r.seconds).toFixed(0).padStart(6)} MiB/s  peak RSS ${r.maxRssMb.toFixed(0).padStart(4)} MB  correct ${r.ok}/${files.length}`,
          );
        }
      }
      // Each tool's best correct run (a run with wrong output never counts as best); peak RSS is
      // the highest of all its runs.
      const results: RunResult[] = tools.map((tool) => {
        const all = runs.get(tool)!;
        const best = [...all].sort((a, b) => a.bad - b.bad || a.seconds - b.seconds)[0];
        return { ...best, maxRssMb: Math.max(...all.map((r) => r.maxRssMb)) };
      });
      out(`best of ${REPEAT}: ${results.map((r) => `${r.tool} ${(files.length / r.seconds).toFixed(set === 'small' ? 0 : 2)} files/s`).join(', ')}`);
      const peers = results.filter((r) => !r.tool.startsWith('mirror') && r.tool !== 'downloader' && !(r.tool in C_PIPES) && r.bad === 0);
      const ours = results.filter((r) => r.tool.startsWith('mirror') || r.tool === 'downloader');
      const fastest = peers.sort((a, b) => a.seconds - b.seconds)[0];
      let limitText: string;
      let pipeText = '';
      if (set === 'small') {
        const rps = tls ? NaN : await wrkLimit(base, files, work);
        limitText = tls ? 'wrk: HTTP/1.1 only (see the HTTP/1.1 line)' : `wrk limit ${rps.toFixed(0)} req/s`;
      } else {
        // The limits, like the tools, count their best of REPEAT runs.
        const lim = await bestOf(() => curlLimit(base, files, nginx.cert, tls));
        const disk = await bestOf(() => curlLimit(base, files, nginx.cert, tls, join(work, 'out-curl-single')));
        const mibps = bytes / 2 ** 20 / lim.seconds;
        const diskMibps = bytes / 2 ** 20 / disk.seconds;
        limitText = `single-stream limit: curl -o /dev/null ${mibps.toFixed(0)} MiB/s, curl into files ${diskMibps.toFixed(0)} MiB/s`;
        for (const r of ours) {
          const own = bytes / 2 ** 20 / r.seconds;
          limitText += `; ${r.tool} ${((own / mibps) * 100).toFixed(0)}% / ${((own / diskMibps) * 100).toFixed(0)}% of them`;
        }
        const pipes = results.filter((r) => r.tool in C_PIPES);
        if (pipes.length > 0) {
          const each = pipes.map((p) => `${C_PIPES[p.tool]} ${(bytes / 2 ** 20 / p.seconds).toFixed(0)} MiB/s = ${((lim.seconds / p.seconds) * 100).toFixed(0)}% of curl -o /dev/null${p.bad === 0 ? '' : ` (${p.bad} NOT correct)`}`);
          pipeText = `C pipeline, ${files.length} in parallel: ${each.join(', ')}`;
          for (const r of ours) pipeText += `; ${r.tool} ${pipes.map((p) => ratio(p.seconds, r.seconds)).join(' / ')} of them`;
        }
      }
      out(limitText);
      if (pipeText) out(pipeText);
      for (const r of ours) {
        const line = fastest
          ? `${proto} ${set}: ${r.tool} ${(fastest.seconds / r.seconds).toFixed(2)}× the fastest peer (${fastest.tool}); peak RSS ${r.maxRssMb.toFixed(0)} MB; ${r.bad === 0 ? 'all verified' : `${r.bad} NOT correct`}`
          : `${proto} ${set}: no peer finished correctly`;
        out(line);
        summary.push(line);
      }
      summary.push(`${proto} ${set}: ${limitText}`);
      if (pipeText) summary.push(`${proto} ${set}: ${pipeText}`);
    }
  }
} finally {
  cleanup();
}
out('\n=== summary ===');
for (const l of summary) out(l);
