// Writes many small generated files into the staging dir with bounded concurrency (libuv's
// thread pool), so the kernel's file-creation work overlaps the index parsing on the main
// thread. `write` resolves once there is room for another write; `drain` waits for all.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export class StagingWriter {
  private readonly dirs = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown = null;

  constructor(private readonly maxInFlight = 64) {}

  /** Queues `content` for `file`; `done` runs once the file is on disk. */
  async write(file: string, content: string, done: () => void): Promise<void> {
    if (this.failure) throw this.failure;
    const dir = dirname(file);
    let made = this.dirs.get(dir);
    if (!made) {
      made = mkdir(dir, { recursive: true });
      this.dirs.set(dir, made);
    }
    const task = made
      .then(() => writeFile(file, content))
      .then(done, (err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }
}
