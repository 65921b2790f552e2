// Durability for groups of files. Instead of an fdatasync per file and an fsync per directory,
// a group pays for two filesystem syncs (syncfs(2), through coreutils' `sync -f`): one before
// its renames, so that every name points at data already on disk, and one after, so that the
// names themselves are on disk before the DB records the files as present.
//
// Forking the (large) node process for every `sync -f` costs ~1.5 ms of main-thread CPU each,
// so one small shell per process runs them all: it reads a path per line, runs `sync -f` and
// answers with the exit status, in order. It is started at the first sync and never keeps the
// process alive while idle. Whenever it cannot answer (a path with a newline, the shell gone)
// or answers with a failure, `sync -f` runs directly, which also gives the error message.
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export function syncFilesystem(path: string): Promise<void> {
  if (path.includes('\n')) return syncDirectly(path);
  return (helper ??= new SyncHelper()).sync(path).then((ok) => (ok ? undefined : syncDirectly(path)));
}

function syncDirectly(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', '--', path], (err) => (err ? reject(new Error(`cannot sync the filesystem of ${path}: ${err.message}`)) : resolve()));
  });
}

let helper: SyncHelper | undefined;

class SyncHelper {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  /** Callers waiting for an answer, oldest first; each gets true for a successful sync. */
  private readonly waiting: ((ok: boolean) => void)[] = [];
  private pending = '';
  private gone = false;

  constructor() {
    this.child = spawn('sh', ['-c', 'while IFS= read -r p; do sync -f -- "$p" 2>/dev/null; echo $?; done'], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.on('error', () => this.close());
    this.child.on('exit', () => this.close());
    this.child.stdin.on('error', () => this.close());
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      this.pending += text;
      for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
        const status = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        this.waiting.shift()?.(status === '0');
      }
      this.idleUnlessWaited();
    });
    this.idleUnlessWaited();
  }

  sync(path: string): Promise<boolean> {
    if (this.gone) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.setRef(true);
      this.child.stdin.write(`${path}\n`);
    });
  }

  /** The shell died or could not start: every caller still waiting syncs directly. */
  private close(): void {
    if (this.gone) return;
    this.gone = true;
    if (helper === this) helper = undefined;
    for (const answer of this.waiting.splice(0)) answer(false);
    this.child.stdin.destroy();
    this.child.stdout.destroy();
  }

  private idleUnlessWaited(): void {
    if (this.waiting.length === 0) this.setRef(false);
  }

  private setRef(ref: boolean): void {
    for (const handle of [this.child, this.child.stdout, this.child.stdin] as { ref(): void; unref(): void }[]) {
      if (ref) handle.ref();
      else handle.unref();
    }
  }
}
