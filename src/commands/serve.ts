// `mirror serve <dest> [--listen HOST:PORT]`: serves a mirror directory over HTTP until
// SIGINT/SIGTERM. Prints the URL on stdout once listening (port 0 = any free port).
import type { CAC } from 'cac';
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { createLogger } from '../log.js';
import { parseListen } from '../ops/listen.js';
import { serveMirror } from '../ops/serve.js';

export function register(cli: CAC): void {
  cli
    .command('serve <dest>', 'Serve a mirror directory over HTTP (static, with ETag/304 and ranges)')
    .option('--listen <addr>', 'HOST:PORT to bind (a bare port binds to 127.0.0.1)', { default: '127.0.0.1:8080' })
    .option('--log-format <fmt>', 'text | json', { default: 'text' })
    .option('--log-level <level>', 'fatal..trace', { default: 'info' })
    .action(async (dest: string, flags: { listen: string; logFormat: string; logLevel: string }) => {
      const log = createLogger(flags.logFormat, flags.logLevel);
      const root = resolve(dest);
      const st = await fs.stat(root).catch(() => null);
      if (!st?.isDirectory()) throw new UsageError(`${dest} is not a directory`);
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
    });
}
