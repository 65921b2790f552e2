// Builds the process logger: pino to stderr, human text (pino-pretty, synchronous) by default,
// one JSON object per line with --log-format json.
import { pino, destination, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { UsageError } from './errors.js';

export type LogFormat = 'text' | 'json';
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(format: string = 'text', level: string = 'info'): Logger {
  if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format must be text or json, not '${format}'`);
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, not '${level}'`);
  if (format === 'json') return pino({ level, base: undefined }, destination({ fd: 2, sync: true }));
  const pretty = pinoPretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    ignore: 'pid,hostname',
    translateTime: 'HH:MM:ss',
    singleLine: true,
  });
  return pino({ level, base: undefined }, pretty);
}
