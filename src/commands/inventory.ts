// `mirror inventory <dest>`: hashes every mirrored file (parallel over cores) and prints
// JSON lines or YAML; with --out, writes the file atomically and can sign it with gpg.
import type { CAC } from 'cac';
import { createWriteStream, promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, EXIT_FAILURES } from '../errors.js';
import { parseAlgos, writeInventory, type InventoryFormat } from '../ops/inventory.js';
import { detachSign } from '../ops/gpg.js';

interface Flags {
  algo: string;
  format: string;
  out?: string;
  jobs?: number;
  sign?: string;
  progress: boolean;
}

export function register(cli: CAC): void {
  cli
    .command('inventory <dest>', 'List every mirrored file with its size and hashes')
    .option('--algo <list>', 'Comma-separated: sha256, sha512, sha1, md5, blake3, xxh64, xxh3, xxh128', { default: 'sha256' })
    .option('--format <fmt>', 'jsonl | yaml', { default: 'jsonl' })
    .option('--out <file>', 'Write to FILE (atomically) instead of stdout')
    .option('--jobs <n>', 'Hashing threads (default: one per core)')
    .option('--sign <key>', 'Write a detached armoured gpg signature FILE.asc with this key (needs --out)')
    .option('--progress', 'Show a progress bar on a TTY (--no-progress to hide)', { default: true })
    .action(async (dest: string, flags: Flags) => {
      const root = resolve(dest);
      if (!(await fs.stat(root).catch(() => null))?.isDirectory()) throw new UsageError(`${dest} is not a directory`);
      const algos = parseAlgos(String(flags.algo));
      if (flags.format !== 'jsonl' && flags.format !== 'yaml') throw new UsageError(`--format must be jsonl or yaml, not '${flags.format}'`);
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
        summary = await writeInventory(root, { algos, format: flags.format as InventoryFormat, jobs, progress: flags.progress, write });
      } catch (err) {
        if (tmpFile) await fs.rm(tmpFile, { force: true });
        throw err;
      }
      if (tmpFile && outFile) {
        await new Promise<void>((done, fail) => (stream as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? fail(err) : done())));
        await fs.rename(tmpFile, outFile);
        if (flags.sign) process.stderr.write(`signed: ${await detachSign(outFile, flags.sign)}\n`);
      }
      if (summary.errors > 0) {
        process.stderr.write(`mirror: ${summary.errors} file(s) could not be read\n`);
        process.exitCode = EXIT_FAILURES;
      }
    });
}
