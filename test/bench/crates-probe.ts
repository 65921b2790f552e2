import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { cratesSource } from '../../src/sources/crates/index.js';
const [upstream, dest] = process.argv.slice(2);
const cursor = process.argv[4] ? JSON.parse(process.argv[4]) : null;
const stagingDir = mkdtempSync(join(dest, 'stg-'));
let n = 0;
const t = Date.now();
const r = await cratesSource.discover(upstream, {
  dest, stagingDir, cursor, options: { 'base-url': 'https://m/' }, log: pino({ level: 'info' }),
  signal: new AbortController().signal, emit: () => { n++; }, reportProblem: (m) => console.log(m),
  fetchToStaging: () => Promise.reject(new Error('x')),
});
console.log(JSON.stringify({ ms: Date.now() - t, n, r }));
rmSync(stagingDir, { recursive: true, force: true });
