// `mirror plan <kind> <upstream> <dest>`: what sync would download, keep, delete and publish,
// as a table or JSON; writes nothing under dest. Exit 1 when discovery found problems.
import { EXIT_FAILURES, EXIT_OK } from '../errors.js';
import { requireSource } from '../engine/sync.js';
import { planOnly } from '../engine/dry-run.js';
import { formatBytes } from '../engine/progress.js';
import { interruptSignal, keepBaselineWasm, makeLogger } from './common.js';
import { networkOptions, resolveFlags, type ParsedFlags } from './run-options.js';
import { sourceOptionValues } from './source-flags.js';
import { redactCredentials } from '../util/redact.js';

export async function run([kind, upstream, dest]: string[], parsed: ParsedFlags): Promise<number> {
  keepBaselineWasm();
  const flags = resolveFlags('plan', parsed);
  const log = makeLogger(flags);
  const source = requireSource(kind);
  const signal = interruptSignal(log);
  const statePath = flags.state === undefined ? undefined : String(flags.state);
  const result = await planOnly({ kind, upstream, dest, sourceOptions: sourceOptionValues(source, parsed), statePath, ...networkOptions(flags), log, signal });
  const { plan: p } = result;
  if (flags.json === true) {
    process.stdout.write(JSON.stringify({ ...p, problems: result.problems, rejected: result.rejected }, null, 2) + '\n');
  } else {
    const row = (label: string, s: { files: number; bytes: number }) =>
      `  ${label.padEnd(9)} ${String(s.files).padStart(9)} files  ${formatBytes(s.bytes).padStart(10)}\n`;
    process.stdout.write(
      `plan (${p.mode}) for ${redactCredentials(upstream)} -> ${dest}\n` +
        row('download', p.download) +
        (p.download.unknownSize ? `            (${p.download.unknownSize} of unknown size)\n` : '') +
        row('keep', p.keep) +
        row('delete', p.delete) +
        row('publish', p.publish) +
        (result.problems.length ? `  problems: ${result.problems.length} (see log)\n` : ''),
    );
  }
  return result.problems.length > 0 ? EXIT_FAILURES : EXIT_OK;
}
