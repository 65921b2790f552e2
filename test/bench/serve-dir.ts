// Child-process static server for benchmarks: `node serve-dir.js ROOT` prints its URL.
import { serveDir } from '../helpers/static-server.js';

const server = await serveDir(process.argv[2]);
process.stdout.write(`${server.url}\n`);
