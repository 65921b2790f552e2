// One run per mirror directory: `<dest>/.mirror/lock` holds the owner's PID and host. A lock
// whose process is gone (same host) is stale and taken over; a live one refuses the new run.
import { openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export class MirrorLock {
  private constructor(private readonly file: string) {}

  static acquire(file: string, command: string): MirrorLock {
    for (let tries = 0; tries < 2; tries++) {
      try {
        const fd = openSync(file, 'wx');
        const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
        writeSync(fd, JSON.stringify(info) + '\n');
        closeSync(fd);
        return new MirrorLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readLock(file);
      if (holder && isAlive(holder)) {
        throw new UsageError(
          `another mirror run (pid ${holder.pid} on ${holder.host}, '${holder.command}', since ${holder.startedAt}) holds ${file}; wait for it to finish`,
        );
      }
      // Stale: the owner died without releasing it.
      unlinkSync(file);
    }
    throw new UsageError(`could not take the lock ${file}`);
  }

  release(): void {
    try {
      unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}

function readLock(file: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return null; // empty or torn lock file: its writer died mid-write
  }
}

function isAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot tell: assume a live run elsewhere
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
