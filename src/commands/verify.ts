// `mirror verify <dest> [--hash] [--repair] [--json]`: the audit of a mirror against its state
// DB, step by step; exit 0 when everything is fine, 1 when anything is wrong, 130 interrupted.
import { EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK } from '../errors.js';
import { verifyMirror } from '../engine/verify.js';
import { interruptSignal, keepBaselineWasm, makeLogger } from './common.js';
import { withMirror } from './open-mirror.js';
import { networkOptions, resolveFlags, type ParsedFlags } from './run-options.js';

export async function run([dest]: string[], parsed: ParsedFlags): Promise<number> {
  keepBaselineWasm();
  const flags = resolveFlags('verify', parsed);
  const log = makeLogger(flags);
  const network = networkOptions(flags);
  const signal = interruptSignal(log);
  return withMirror(dest, flags.state as string | undefined, { command: 'verify', scratch: true }, async (session) => {
    const report = await verifyMirror({
      session,
      hashAll: flags.hash === true,
      repair: flags.repair === true,
      log,
      progress: flags.progress === true,
      signal,
      network,
    });
    if (flags.json === true) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    } else {
      for (const step of report.steps) {
        const repaired = step.repaired !== undefined ? `, ${step.repaired} repaired` : '';
        process.stdout.write(`${step.name.padEnd(10)} checked ${step.checked}, problems ${step.problems}${repaired}\n`);
      }
      for (const p of report.problems.slice(0, 100)) process.stdout.write(`  ${p.kind.padEnd(10)} ${p.path}: ${p.detail}\n`);
      if (report.problems.length > 100) process.stdout.write(`  … and ${report.problems.length - 100} more (use --json)\n`);
      process.stdout.write(report.ok ? 'verify: ok\n' : 'verify: PROBLEMS FOUND\n');
    }
    if (signal.aborted) return EXIT_INTERRUPTED;
    return report.ok ? EXIT_OK : EXIT_FAILURES;
  });
}
