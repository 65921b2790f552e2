// Progress of a long stage: on a TTY, one line on stderr redrawn every 200 ms; elsewhere, a log
// line every 10 s. The caller supplies a snapshot function; rates are derived here.
import type { Logger } from 'pino';

export interface ProgressSnapshot {
  done: number;
  total: number;
  bytes: number;
  totalBytes: number;
  failed: number;
  inFlight?: number;
  concurrency?: number;
  retries?: number;
}

export interface ProgressReporter {
  stop(): void;
}

export function startProgress(
  label: string,
  snapshot: () => ProgressSnapshot,
  opts: { enabled: boolean; log: Logger; tty?: boolean },
): ProgressReporter {
  if (!opts.enabled) return { stop() {} };
  const tty = opts.tty ?? process.stderr.isTTY === true;
  const started = Date.now();
  const line = () => {
    const s = snapshot();
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    const filesPerSec = s.done / secs;
    const bytesPerSec = s.bytes / secs;
    const remaining = s.totalBytes > s.bytes && bytesPerSec > 0 ? (s.totalBytes - s.bytes) / bytesPerSec : undefined;
    const parts = [
      `${label} ${s.done}/${s.total} files`,
      `${formatBytes(s.bytes)}/${formatBytes(s.totalBytes)}`,
      `${filesPerSec.toFixed(0)} files/s`,
      `${formatBytes(bytesPerSec)}/s`,
    ];
    if (s.inFlight !== undefined) parts.push(`in flight ${s.inFlight}/${s.concurrency ?? '?'}`);
    if (s.retries) parts.push(`retries ${s.retries}`);
    if (s.failed) parts.push(`failed ${s.failed}`);
    if (remaining !== undefined) parts.push(`ETA ${formatDuration(remaining)}`);
    return parts.join(' · ');
  };
  if (tty) {
    const timer = setInterval(() => process.stderr.write(`\r\x1b[2K${line()}`), 200);
    return {
      stop() {
        clearInterval(timer);
        process.stderr.write(`\r\x1b[2K`);
      },
    };
  }
  const timer = setInterval(() => opts.log.info(line()), 10_000);
  return { stop: () => clearInterval(timer) };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${Math.round((seconds % 3600) / 60)}m`;
}
