// `mirror inventory <dest>`: hashes every mirrored file (parallel over cores) and prints
// JSON lines or YAML; with --out, writes the file atomically and can sign it with gpg.
import { createWriteStream, promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT_FAILURES, EXIT_OK, UsageError } from '../errors.js';
import { parseAlgos, writeInventory } from '../features/inventory/inventory.js';
import { detachSign } from '../features/inventory/sign.js';
import { makeLogger, requireDirectory } from './common.js';
import { resolveFlags, type ParsedFlags } from './run-options.js';

export async function run([dest]: string[], parsed: ParsedFlags): Promise<number> {
  const flags = resolveFlags('inventory', parsed);
  const log = makeLogger(flags);
  const root = await requireDirectory(dest);
  const algos = parseAlgos(String(flags.algo));
  const format = flags.format;
  if (format !== 'jsonl' && format !== 'yaml') throw new UsageError(`--format must be jsonl or yaml, not '${String(format)}'`);
  const jobs = flags.jobs === undefined ? undefined : Number(flags.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) throw new UsageError(`--jobs must be a positive integer, not '${String(flags.jobs)}'`);
  const sign = flags.sign === undefined ? undefined : String(flags.sign);
  if (sign && flags.out === undefined) throw new UsageError('--sign needs --out FILE');

  const outFile = flags.out === undefined ? undefined : resolve(String(flags.out));
  const tmpFile = outFile ? `${outFile}.tmp-${process.pid}` : undefined;
  const stream = tmpFile ? createWriteStream(tmpFile) : process.stdout;
  const write = (chunk: string) =>
    new Promise<void>((done, fail) => {
      if (chunk === '') return done();
      stream.write(chunk, (err) => (err ? fail(err) : done()));
    });
  let summary;
  try {
    summary = await writeInventory(root, { algos, format, jobs, progress: flags.progress === true, log, write });
    if (tmpFile && outFile) {
      await new Promise<void>((done, fail) => stream.end((err?: Error | null) => (err ? fail(err) : done())));
      await fs.rename(tmpFile, outFile);
    }
  } finally {
    if (tmpFile) await fs.rm(tmpFile, { force: true });
  }
  if (outFile && sign) log.info(`signed: ${await detachSign(outFile, sign)}`);
  if (summary.errors > 0) {
    log.error(`${summary.errors} file(s) could not be read`);
    return EXIT_FAILURES;
  }
  return EXIT_OK;
}
