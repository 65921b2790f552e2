// `mirror serve <dest> [--listen HOST:PORT]`: serves a mirror directory over HTTP until
// SIGINT/SIGTERM. Prints the URL on stdout once listening (port 0 = any free port).
import type { CAC } from 'cac';
import { EXIT_OK, UsageError } from '../errors.js';
import { makeLogger, runCommand, type GlobalFlags, requireDirectory } from './common.js';

interface ServeFlags extends GlobalFlags {
  listen: string;
}

export function register(cli: CAC): void {
  cli
    .command('serve <dest>', 'Serve a mirror directory over HTTP (static, with ETag/304 and ranges)')
    .option('--listen <addr>', 'HOST:PORT to bind (a bare port binds to 127.0.0.1)', { default: '127.0.0.1:8080' })
    .action((dest: string, flags: ServeFlags) =>
      runCommand(async () => {
        const log = await makeLogger(flags);
        const { parseListen } = await import('../features/listen.js');
        const { serveMirror } = await import('../features/serve/serve.js');
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
      }),
    );
}
