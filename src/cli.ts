// Entry point of the `mirror` CLI: registers every command module and maps errors to exit codes.
// (Stand-in on the ops branch until the engine's cli.ts lands; the command modules are the same.)
import { cac } from 'cac';
import { UsageError, EXIT_USAGE } from './errors.js';
import * as serve from './commands/serve.js';
import * as inventory from './commands/inventory.js';
import * as bundle from './commands/bundle.js';

const commands = [serve, inventory, bundle];

const cli = cac('mirror');
for (const command of commands) command.register(cli);
cli.help();

try {
  cli.parse(process.argv, { run: false });
  if (!cli.matchedCommand) {
    if (cli.args.length > 0) throw new UsageError(`unknown command '${cli.args[0]}' (see mirror --help)`);
    cli.outputHelp();
  } else {
    await cli.runMatchedCommand();
  }
} catch (err) {
  if (err instanceof UsageError || (err instanceof Error && err.name === 'CACError')) {
    process.stderr.write(`mirror: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else {
    process.stderr.write(`mirror: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  }
}
