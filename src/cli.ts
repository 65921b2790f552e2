// The `mirror` command line. Commands and flags are declared in src/commands/flags.ts; this
// module registers them with cac (help included), and runs the matched command's module, loaded
// only then (one import per command), so a command loads only what it uses. Errors become one
// line on stderr and an exit code: 2 for bad input, 130 when interrupted, 1 otherwise.
import { cac, type Command } from 'cac';
import { EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_USAGE, InterruptedError, UsageError } from './errors.js';
import { VERSION } from './version.js';
import { redactCredentials } from './util/redact.js';
import { COMMANDS, GLOBAL_FLAGS, flagForms, type FlagSpec } from './commands/flags.js';
import { registerSourceFlags } from './commands/source-flags.js';

/** What every command module exports: runs with the positional arguments and the given flags. */
interface CommandModule {
  run(args: string[], flags: Record<string, unknown>): Promise<number>;
}

const LOAD: Record<string, () => Promise<CommandModule>> = {
  sync: () => import('./commands/sync.js'),
  plan: () => import('./commands/plan.js'),
  kinds: () => import('./commands/kinds.js'),
  verify: () => import('./commands/verify.js'),
  gc: () => import('./commands/gc.js'),
  status: () => import('./commands/status.js'),
  manifest: () => import('./commands/manifest.js'),
  serve: () => import('./commands/serve.js'),
  bundle: () => import('./commands/bundle.js'),
  unbundle: () => import('./commands/unbundle.js'),
  inventory: () => import('./commands/inventory.js'),
  demo: () => import('./commands/demo.js'),
};

// A reader that stops early (`mirror kinds | head`) is not an error: what it no longer reads
// is dropped, and the command itself goes on (a sync must not stop half-way for it).
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
});

/**
 * Registers a flag without a default: cac then returns only the flags given on the command line
 * (the defaults are applied by commands/run-options.ts). cac gives a `--no-x` flag an implicit
 * default of true, which its help would print: cleared, the help text says what the flag does.
 */
function addFlag(target: Command, spec: FlagSpec): void {
  for (const form of flagForms(spec)) {
    target.option(form.usage.replace(/ (.+)$/, ' <$1>'), form.help);
    target.options[target.options.length - 1].config.default = undefined;
  }
}

function runCommand(body: () => Promise<number>): void {
  // Nothing left to wait for while the command has not finished is a bug: never a silent exit 0.
  const stalled = () => {
    process.stderr.write('mirror: internal error: the command stopped before it finished\n');
    process.exitCode = EXIT_FAILURES;
  };
  process.once('beforeExit', stalled);
  body().finally(() => process.off('beforeExit', stalled)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const e = err as Error;
      if (err instanceof InterruptedError) {
        process.exitCode = EXIT_INTERRUPTED;
        return;
      }
      process.stderr.write(`mirror: ${redactCredentials(e.message ?? String(err))}\n`);
      if (!(err instanceof UsageError) && process.env.MIRROR_DEBUG) process.stderr.write(`${e.stack}\n`);
      process.exitCode = err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURES;
    },
  );
}

const cli = cac('mirror');
cli.globalCommand.config.ignoreOptionDefaultValue = true;
for (const spec of GLOBAL_FLAGS) addFlag(cli.globalCommand, spec);
for (const spec of COMMANDS) {
  const command = cli.command(`${spec.name} ${spec.args}`.trim(), spec.description, { ignoreOptionDefaultValue: true });
  for (const flag of spec.flags) addFlag(command, flag);
  if (spec.sourceFlags) registerSourceFlags(command);
  command.action((...params: unknown[]) => {
    const flags = params.pop() as Record<string, unknown>;
    const args = params.flat().filter((a): a is string => a !== undefined).map(String);
    runCommand(async () => (await LOAD[spec.name]()).run(args, flags));
  });
}
cli.help();
cli.version(VERSION);

try {
  cli.parse(process.argv, { run: false });
  if (!cli.matchedCommand) {
    if (cli.args.length > 0) throw new Error(`unknown command '${cli.args[0]}'; see 'mirror --help'`);
    if (!cli.options.help && !cli.options.version) cli.outputHelp();
  } else {
    cli.runMatchedCommand();
  }
} catch (err) {
  process.stderr.write(`mirror: ${redactCredentials((err as Error).message)}\n`);
  process.exitCode = EXIT_USAGE;
}
