// `mirror kinds`: every source kind, its summary and its flags.
import { EXIT_OK } from '../errors.js';
import { sources } from '../sources/index.js';

export async function run(): Promise<number> {
  for (const s of sources) {
    process.stdout.write(`${s.kind.padEnd(8)} ${s.summary}\n`);
    for (const o of s.options) process.stdout.write(`         --${o.flag}${o.type === 'boolean' ? '' : ' <value>'}  ${o.description}\n`);
  }
  return EXIT_OK;
}
