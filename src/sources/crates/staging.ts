// Writes many small generated files into the staging dir with bounded concurrency (libuv's
// thread pool), so the kernel's file-creation work overlaps the index parsing on the main
// thread. A file identical to the one the mirror already publishes can be left out: `write`
// then reports it as unchanged instead of writing it (with no target file, as in a dry run, it
// only compares). `write` resolves once there is room for another file; `drain` waits for all.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export class StagingWriter {
  private readonly dirs = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown = null;

  constructor(private readonly maxInFlight = 64) {}

  /**
   * Writes `content` to `file` (if not null), then calls `done(true)`; or, when `published` (the
   * live copy) already holds exactly `content`, writes nothing and calls `done(false)`.
   */
  async write(file: string | null, content: string, published: string | null, done: (changed: boolean) => void): Promise<void> {
    if (this.failure) throw this.failure;
    const task = (async () => {
      if (published !== null && (await readIfExists(published)) === content) return done(false);
      if (file === null) return done(true);
      const dir = dirname(file);
      let made = this.dirs.get(dir);
      if (!made) {
        made = mkdir(dir, { recursive: true });
        this.dirs.set(dir, made);
      }
      await made;
      await writeFile(file, content);
      done(true);
    })()
      .catch((err: unknown) => {
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

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}
