import { buildCorpus, REAL_SCALE } from './crates-corpus.js';
const c = await buildCorpus(process.argv[2], REAL_SCALE, console.log);
console.log(c);
