// Builds the process logger: pino to stderr, human text (pino-pretty, synchronous) by default,
// one JSON object per line with --log-format json. pino-pretty is loaded at the first line
// written, so a run that logs nothing (--log-level warn, all well) never pays for loading it.
// Credentials in URLs are redacted from every line.
import { createRequire } from 'node:module';
import { pino, destination, type DestinationStream, type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import { UsageError } from './errors.js';
import { redactCredentials } from './util/redact.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(format: string = 'text', level: string = 'info'): Logger {
  if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format must be text or json, not '${format}'`);
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, not '${level}'`);
  if (format === 'json') return pino({ level, base: undefined }, redacting(destination({ fd: 2, sync: true })));
  return pino({ level, base: undefined }, redacting(lazyPretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    ignore: 'pid,hostname',
    translateTime: 'HH:MM:ss',
    singleLine: true,
  })));
}

/** Every line with the credentials of the URLs in it redacted (fields and messages alike). */
function redacting(stream: DestinationStream): DestinationStream {
  return { write: (line: string) => stream.write(redactCredentials(line)) };
}

function lazyPretty(options: PrettyOptions): DestinationStream {
  let pretty: DestinationStream | undefined;
  return {
    write(line: string) {
      // Synchronous, like the rest of the logger: a line is on stderr when the call returns.
      pretty ??= (createRequire(import.meta.url)('pino-pretty') as (o: PrettyOptions) => DestinationStream)(options);
      pretty.write(line);
    },
  };
}
