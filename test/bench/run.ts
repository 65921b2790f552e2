// `npm run bench [-- NAME…]`: runs every test/bench/*.bench.ts script (compiled), or the named
// ones, one after the other. Each prints its own numbers with a baseline from the same run.
// The CLI is measured as users run it: bundled (`npm run bench` builds it first).
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.js$/, '')));
if (benches.length === 0) {
  process.stderr.write(`no benchmark matches ${wanted.join(', ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const bench of benches) {
  process.stdout.write(`\n=== ${bench.replace(/\.bench\.js$/, '')} ===\n`);
  const r = spawnSync(process.execPath, [join(dir, bench)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
