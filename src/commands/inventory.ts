// `mirror inventory <dest>`: hashes every mirrored file (parallel over cores) and prints
// JSON lines or YAML; with --out, writes the file atomically and can sign it with gpg.
import type { CAC } from 'cac';
import { EXIT_FAILURES, EXIT_OK, UsageError } from '../errors.js';
import { makeLogger, runCommand, type GlobalFlags, requireDirectory } from './common.js';

interface InventoryFlags extends GlobalFlags {
  algo: string;
  format: string;
  out?: string;
  jobs?: number;
  sign?: string;
}

export function register(cli: CAC): void {
  cli
    .command('inventory <dest>', 'List every mirrored file with its size and hashes')
    .option('--algo <list>', 'Comma-separated: sha256, sha512, sha1, md5, blake3, xxh64, xxh3, xxh128', { default: 'sha256' })
    .option('--format <fmt>', 'jsonl | yaml', { default: 'jsonl' })
    .option('--out <file>', 'Write to FILE (atomically) instead of stdout')
    .option('--jobs <n>', 'Hashing threads (default: one per core)')
    .option('--sign <key>', 'Write a detached armoured gpg signature FILE.asc with this key (needs --out)')
    .action((dest: string, flags: InventoryFlags) =>
      runCommand(async () => {
        const log = await makeLogger(flags);
        const { createWriteStream, promises: fs } = await import('node:fs');
        const { resolve } = await import('node:path');
        const { parseAlgos, writeInventory } = await import('../features/inventory/inventory.js');
        const root = await requireDirectory(dest);
        const algos = parseAlgos(String(flags.algo));
        const format = flags.format;
        if (format !== 'jsonl' && format !== 'yaml') throw new UsageError(`--format must be jsonl or yaml, not '${format}'`);
        const jobs = flags.jobs === undefined ? undefined : Number(flags.jobs);
        if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) throw new UsageError(`--jobs must be a positive integer, not '${flags.jobs}'`);
        if (flags.sign && !flags.out) throw new UsageError('--sign needs --out FILE');

        const outFile = flags.out ? resolve(flags.out) : undefined;
        const tmpFile = outFile ? `${outFile}.tmp-${process.pid}` : undefined;
        const stream = tmpFile ? createWriteStream(tmpFile) : process.stdout;
        const write = (chunk: string) =>
          new Promise<void>((done, fail) => {
            if (chunk === '') return done();
            stream.write(chunk, (err) => (err ? fail(err) : done()));
          });
        let summary;
        try {
          summary = await writeInventory(root, { algos, format, jobs, progress: flags.progress !== false, log, write });
          if (tmpFile && outFile) {
            await new Promise<void>((done, fail) => stream.end((err?: Error | null) => (err ? fail(err) : done())));
            await fs.rename(tmpFile, outFile);
          }
        } finally {
          if (tmpFile) await fs.rm(tmpFile, { force: true });
        }
        if (outFile && flags.sign) {
          const { detachSign } = await import('../features/inventory/sign.js');
          log.info(`signed: ${await detachSign(outFile, flags.sign)}`);
        }
        if (summary.errors > 0) {
          log.error(`${summary.errors} file(s) could not be read`);
          return EXIT_FAILURES;
        }
        return EXIT_OK;
      }),
    );
}
