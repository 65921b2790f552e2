import { listTree, readBlobs } from '../../src/sources/crates/git.js';
import { parseIndexFile } from '../../src/sources/crates/format.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const [repo, mode, out] = process.argv.slice(2);
let t = Date.now();
const files = (await listTree(repo, 'master')).filter((f) => f.path !== 'config.json');
console.log('ls-tree', Date.now() - t, files.length);
t = Date.now();
let n = 0, bytes = 0;
const dirs = new Set<string>();
await readBlobs(repo, files.map((f) => f.oid), (i, c) => {
  bytes += c.length;
  if (mode === 'raw') return;
  const s = c.toString('utf8');
  if (mode === 'str') return;
  n += parseIndexFile(files[i].path, s, () => {}).length;
  if (mode === 'parse') return;
  const p = join(out, files[i].path);
  const d = dirname(p);
  if (!dirs.has(d)) { mkdirSync(d, { recursive: true }); dirs.add(d); }
  writeFileSync(p, s);
});
console.log(mode, Date.now() - t, n, bytes);
