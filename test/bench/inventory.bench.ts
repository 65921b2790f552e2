// `mirror inventory` hashing throughput on a generated corpus (many small files plus a few large
// ones), against coreutils sha256sum and b3sum over the same files in the same run. Warm page
// cache for all (one untimed pass first). BENCH_SMALL=N scales the small-file count.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { cacheDir, MIRROR_BIN, ratio, timed } from './bench-util.js';

const SMALL = Number(process.env.BENCH_SMALL ?? 3000);
const LARGE = 4;
const LARGE_SIZE = 32 << 20;

function corpus(): string {
  const root = join(cacheDir('inventory'), `corpus-${SMALL}`);
  if (existsSync(join(root, 'done'))) return root;
  let seed = 12345;
  const fill = (n: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      b.writeUInt32LE(seed, i - (i + 4 > n ? i + 4 - n : 0));
    }
    return b;
  };
  for (let i = 0; i < SMALL; i++) {
    const dir = join(root, 'small', String(i % 64));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.bin`), fill(4096 + ((i * 7919) % 61440)));
  }
  mkdirSync(join(root, 'large'), { recursive: true });
  for (let i = 0; i < LARGE; i++) writeFileSync(join(root, 'large', `l${i}.bin`), fill(LARGE_SIZE));
  writeFileSync(join(root, 'done'), '');
  return root;
}

const root = corpus();
const listCmd = `cd ${root} && find small large -type f -print0 | xargs -0`;
await timed('sh', ['-c', `${listCmd} cat > /dev/null`]); // warm the page cache

const sha256sum = await timed('sh', ['-c', `${listCmd} sha256sum > /dev/null`]);
const inv1 = await timed(process.execPath, [MIRROR_BIN, 'inventory', root, '--algo', 'sha256', '--jobs', '1', '--no-progress']);
const invN = await timed(process.execPath, [MIRROR_BIN, 'inventory', root, '--algo', 'sha256', '--no-progress']);
const b3sum = await timed('sh', ['-c', `${listCmd} b3sum --num-threads 1 > /dev/null`]);
const invB3 = await timed(process.execPath, [MIRROR_BIN, 'inventory', root, '--algo', 'blake3', '--no-progress']);
const invAll = await timed(process.execPath, [MIRROR_BIN, 'inventory', root, '--algo', 'sha256,blake3,xxh64', '--no-progress']);
for (const t of [inv1, invN, invB3, invAll]) if (t.code !== 0) throw new Error(`inventory failed: ${t.stderr}`);

const mb = (SMALL * (4096 + 30720) + LARGE * LARGE_SIZE) / 2 ** 20;
const row = (label: string, s: number, base: number, baseLabel: string) =>
  console.log(`${label.padEnd(44)} ${s.toFixed(2).padStart(6)} s  ${(mb / s).toFixed(0).padStart(5)} MiB/s  ${ratio(base, s)} the speed of ${baseLabel}`);
console.log(`corpus: ${SMALL} files of 4-64 KiB + ${LARGE} of 32 MiB (~${mb.toFixed(0)} MiB), ${availableParallelism()} cores, warm cache`);
row('sha256sum (coreutils, one process)', sha256sum.seconds, sha256sum.seconds, 'sha256sum');
row('mirror inventory --algo sha256 --jobs 1', inv1.seconds, sha256sum.seconds, 'sha256sum');
row('mirror inventory --algo sha256 (all cores)', invN.seconds, sha256sum.seconds, 'sha256sum');
row('b3sum --num-threads 1', b3sum.seconds, b3sum.seconds, 'b3sum -1');
row('mirror inventory --algo blake3 (all cores)', invB3.seconds, b3sum.seconds, 'b3sum -1');
row('mirror inventory sha256,blake3,xxh64', invAll.seconds, sha256sum.seconds, 'sha256sum');
