// One run per mirror directory: `<dest>/.mirror/lock` holds the owner's PID, the start of that
// process (`/proc/<pid>/stat` start time and the boot it counts from) and the host. A live
// owner refuses the new run. A lock whose owner is gone is stale and taken over: on the same host,
// when its PID is not running or now belongs to a process that started at another time (a
// reused PID); a lock of another host is never judged.
// Taking over is atomic: a run replaces a stale lock only while holding the take-over token
// `<lock>.takeover` (created O_EXCL, naming its run like the lock), and only if the lock still
// holds the very bytes it judged stale, so two runs can never both replace it (nor one remove
// the lock another just took). A token whose run died in that short step is removed (one torn
// by that death, once older than TOKEN_STALE_MS); a slow live holder is waited for.
import { closeSync, constants, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  /** `<boot id>/<start time in clock ticks>` of the owner process (absent in older locks). */
  processStart?: string;
}

/** Attempts to create the lock before giving up (each lost take-over race waits a moment). */
const MAX_TRIES = 100;
const RETRY_MS = 20;
const TOKEN_STALE_MS = 10_000;

export class MirrorLock {
  private constructor(private readonly file: string) {}

  static acquire(file: string, command: string): MirrorLock {
    const info: LockInfo = {
      pid: process.pid,
      host: hostname(),
      startedAt: new Date().toISOString(),
      command,
      processStart: processStart(process.pid) ?? undefined,
    };
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      if (tryCreate(file, info)) return new MirrorLock(file);
      const text = readLockText(file);
      if (text === null) continue; // released meanwhile
      const holder = parseLock(text);
      if (!holder && justWritten(file)) {
        throw new UsageError(`another mirror run is starting on this mirror (${file}); try again in a moment`);
      }
      if (holder && isAlive(holder)) {
        throw new UsageError(
          `another mirror run (pid ${holder.pid} on ${holder.host}, '${holder.command}', since ${holder.startedAt}) holds ${file}; wait for it to finish`,
        );
      }
      // Stale: its owner died without releasing it (or its PID went to another process).
      if (!removeIfUnchanged(file, text, info)) sleepSync(RETRY_MS);
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

function tryCreate(file: string, info: LockInfo): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(info) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes the stale lock `file` if it still holds `staleText`, under the take-over token.
 * False when another run holds the token (it is taking the lock over: try again shortly).
 */
function removeIfUnchanged(file: string, staleText: string, info: LockInfo): boolean {
  const token = `${file}.takeover`;
  if (!tryCreate(token, info)) {
    // Held by a run taking the lock over: wait, unless that run died in this short step.
    const text = readLockText(token);
    const holder = text === null ? null : parseLock(text);
    if (holder ? !isAlive(holder) : text !== null && olderThan(token, TOKEN_STALE_MS)) unlinkQuietly(token);
    return false;
  }
  try {
    // Only a token holder removes a lock it judged stale: unchanged bytes are still that lock.
    if (readLockText(file) === staleText) unlinkQuietly(file);
  } finally {
    unlinkQuietly(token);
  }
  return true;
}

function readLockText(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const info = JSON.parse(text) as LockInfo;
    return info && typeof info.pid === 'number' ? info : null;
  } catch {
    return null; // empty or torn lock file: its writer died mid-write (or is writing it now)
  }
}

/** An empty lock file younger than a few seconds is a run still writing it, not a dead one. */
function justWritten(file: string): boolean {
  return !olderThan(file, 5000);
}

function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs >= ms;
  } catch {
    return false;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot tell: assume a live run elsewhere
  // Our own PID can only be a leftover: in a container a killed run and its successor are
  // both PID 1 (this process takes the lock once, before any other work).
  if (info.pid === process.pid) return false;
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The PID runs: the owner, unless that process started at another time than the owner did.
  if (info.processStart === undefined) return true;
  const now = processStart(info.pid);
  return now === null || now === info.processStart;
}

let bootId: string | undefined;

/** `<boot id>/<start time in clock ticks since boot>` of a process, or null where /proc lacks it. */
function processStart(pid: number): string | null {
  try {
    bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces): the 3rd field of
    // the line comes first, the start time is the 22nd.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start && /^\d+$/.test(start) ? `${bootId}/${start}` : null;
  } catch {
    return null;
  }
}
