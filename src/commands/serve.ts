// `mirror serve <dest> [--listen HOST:PORT]`: serves a mirror directory over HTTP until
// SIGINT/SIGTERM. Prints the URL on stdout once listening (port 0 = any free port).
import { EXIT_OK, UsageError } from '../errors.js';
import { parseListen } from '../features/listen.js';
import { serveMirror } from '../features/serve/serve.js';
import { makeLogger, requireDirectory } from './common.js';
import { resolveFlags, type ParsedFlags } from './run-options.js';

export async function run([dest]: string[], parsed: ParsedFlags): Promise<number> {
  const flags = resolveFlags('serve', parsed);
  const log = makeLogger(flags);
  const root = await requireDirectory(dest);
  const { host, port } = parseListen(String(flags.listen));
  const server = await serveMirror(root, host, port, { log }).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`);
  });
  process.stdout.write(`serving ${root} at ${server.url}/\n`);
  await new Promise<void>((done) => {
    const stop = () => void server.close().then(done);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return EXIT_OK;
}
