// The `mirror` command line. Each command lives in a module under src/commands/ that
// registers itself; heavy modules are imported inside the actions so start-up stays fast.
import { cac } from 'cac';
import { EXIT_USAGE } from './errors.js';
import { VERSION } from './version.js';
import { redactCredentials } from './util/redact.js';
import { registerGlobalFlags } from './commands/common.js';
import * as syncCommands from './commands/sync.js';
import * as auditCommands from './commands/audit.js';
import * as demoCommand from './commands/demo.js';
import * as serveCommand from './commands/serve.js';
import * as inventoryCommand from './commands/inventory.js';
import * as bundleCommands from './commands/bundle.js';
import * as manifestCommand from './commands/manifest.js';

// A reader that stops early (`mirror kinds | head`) is not an error: what it no longer reads
// is dropped, and the command itself goes on (a sync must not stop half-way for it).
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
});

const cli = cac('mirror');
registerGlobalFlags(cli);
for (const module of [syncCommands, auditCommands, demoCommand, serveCommand, inventoryCommand, bundleCommands, manifestCommand]) module.register(cli);
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
