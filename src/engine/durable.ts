// Durability for groups of files. Instead of an fdatasync per file and an fsync per directory,
// a group pays for two filesystem syncs (syncfs(2), through coreutils' `sync -f`): one before
// its renames, so that every name points at data already on disk, and one after, so that the
// names themselves are on disk before the DB records the files as present.
// Node has no syncfs, and spawning `sync` from a process holding a few hundred MB costs
// ~15 ms of main-thread time per fork (measured: 1.5 s of a 20,000-file run). So one small
// shell is started on first use and runs every `sync -f` for the rest of the process; it is
// unreferenced while idle, so it never keeps the process alive, and it exits with it.
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';

const SYNC_LOOP = `while IFS= read -r p; do
  if m=$(sync -f -- "$p" 2>&1); then echo ok; else printf 'error %s\\n' "$(printf %s "$m" | tr '\\n' ' ')"; fi
done`;

interface Pending {
  path: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

class SyncShell {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly pending: Pending[] = [];
  private dead: Error | null = null;

  constructor() {
    this.child = spawn('sh', ['-c', SYNC_LOOP], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.on('error', (err) => this.fail(err));
    this.child.on('exit', (code, signal) => this.fail(new Error(`sync helper exited (${signal ?? code})`)));
    this.child.stdin.on('error', (err) => this.fail(err));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.answer(line));
    this.idle();
  }

  get usable(): boolean {
    return this.dead === null;
  }

  sync(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) this.busy();
      this.pending.push({ path, resolve, reject });
      this.child.stdin.write(`${path}\n`);
    });
  }

  private answer(line: string): void {
    const p = this.pending.shift();
    if (!p) return;
    if (line === 'ok') p.resolve();
    else p.reject(syncError(p.path, line.replace(/^error /, '')));
    if (this.pending.length === 0) this.idle();
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.splice(0)) p.reject(syncError(p.path, err.message));
    this.idle();
  }

  // While requests are pending the pipes keep the event loop alive; while idle they do not.
  private busy(): void {
    this.child.ref();
    (this.child.stdout as unknown as { ref(): void }).ref();
  }

  private idle(): void {
    this.child.unref();
    (this.child.stdout as unknown as { unref(): void }).unref();
    (this.child.stdin as unknown as { unref(): void }).unref();
  }
}

let shell: SyncShell | null = null;

export function syncFilesystem(path: string): Promise<void> {
  // A path with a newline cannot go through the line protocol: one `sync` of its own.
  if (path.includes('\n')) return syncOnce(path);
  if (!shell?.usable) shell = new SyncShell();
  return shell.sync(path);
}

function syncOnce(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', '--', path], (err) => (err ? reject(syncError(path, err.message)) : resolve()));
  });
}

function syncError(path: string, message: string): Error {
  return new Error(`cannot sync the filesystem of ${path}: ${message.trim()}`);
}
