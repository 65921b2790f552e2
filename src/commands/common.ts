// What the command modules share: the logger the flags select, interrupt handling, the
// WebAssembly setting of the commands that download, and checking a directory argument.
import { setMaxListeners } from 'node:events';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import { EXIT_INTERRUPTED, UsageError } from '../errors.js';
import { createLogger } from '../log.js';
import type { FlagValues } from './run-options.js';

/**
 * For the commands that download (sync, plan, verify, demo), whose only WebAssembly is undici's
 * HTTP parser (llhttp): V8 compiles it with its baseline compiler, then recompiles it with its
 * optimizing one on a background thread, and the process waits for that at exit (~0.1 s of CPU
 * on every short run); header parsing never bounds a run. Not for `inventory`: its BLAKE3 and
 * xxHash are WebAssembly too, and ~6x slower as baseline code.
 */
export function keepBaselineWasm(): void {
  setFlagsFromString('--liftoff-only');
}

/** The logger of --log-format and --log-level (resolved flags). */
export function makeLogger(flags: FlagValues): Logger {
  return createLogger(String(flags['log-format']), String(flags['log-level']));
}

/** An AbortSignal fired by the first SIGINT/SIGTERM; a second one exits at once. */
export function interruptSignal(log?: Logger): AbortSignal {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    log?.warn(`${name}: stopping; in-flight files are abandoned (press Ctrl-C again to quit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}


/** The absolute path of `dir`, which must be an existing directory (else a usage error). */
export async function requireDirectory(dir: string): Promise<string> {
  const root = resolve(dir);
  if (!(await stat(root).catch(() => null))?.isDirectory()) throw new UsageError(`${dir} is not a directory`);
  return root;
}

/** The one positional-argument shape a command takes, or a usage error showing it. */
export function expectArgs(args: string[], count: number, usage: string): string[] {
  if (args.length !== count) throw new UsageError(`usage: ${usage}`);
  return args;
}
