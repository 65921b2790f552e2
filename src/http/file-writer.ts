// Buffered positional writer for a tmp file.
// - The file is created by the thread pool as soon as the writer exists, while the body is still
//   on its way: creating a file is the slowest step of a small download here (100-500 µs on this
//   ext4/VM), and it must neither block the main thread nor wait for the body.
// - A small body (under FLUSH_BYTES in all) is then written with one synchronous writev, fstat
//   and close: three short syscalls on the main thread cost less than three thread-pool round
//   trips, each of which wakes a worker and, with few cores, preempts the main thread.
// - A large body is written behind the network: one ~256 KiB writev runs while the next batch
//   fills, and the caller waits only when more than MAX_BEHIND bytes are not yet on their way.
// close() reports the file's mtime (the engine records it; no separate stat of the path).
// Durability (fsync) is the caller's business: the engine batches it. A symlink is never
// written through (O_NOFOLLOW): tmp files live in the mirror's private tree.

import { close, closeSync, constants, fstat, fstatSync, ftruncate, open, writev, writevSync } from 'node:fs';
import { promisify } from 'node:util';

const FLUSH_BYTES = 256 * 1024;
const MAX_BEHIND = 1024 * 1024;

const openAsync = promisify(open);
const ftruncateAsync = promisify(ftruncate);
const writevAsync = (fd: number, buffers: Buffer[], position: number) =>
  new Promise<number>((resolve, reject) => writev(fd, buffers, position, (err, bytes) => (err ? reject(err) : resolve(bytes))));
const fstatAsync = promisify(fstat);
const closeAsync = promisify(close);

export class BufferedFileWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Where the next batch goes (bytes already handed to a write). */
  private position: number;
  /** Whether any batch went through the thread pool (then close() does too). */
  private streamed = false;
  private writing: Promise<void> = Promise.resolve();
  private writingBytes = 0;
  private failure: unknown = null;

  private constructor(
    private readonly fd: Promise<number>,
    offset: number,
  ) {
    this.position = offset;
  }

  /**
   * A writer for `file` at `offset`: created (or truncated) when 0, its creation running in the
   * background; continued (resume) otherwise.
   */
  static async open(file: string, offset: number): Promise<BufferedFileWriter> {
    if (offset > 0) {
      const fd = await openAsync(file, constants.O_RDWR | constants.O_NOFOLLOW);
      try {
        await ftruncateAsync(fd, offset);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      return new BufferedFileWriter(Promise.resolve(fd), offset);
    }
    const fd = openAsync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    fd.catch(() => undefined); // surfaces at the first write or at close
    return new BufferedFileWriter(fd, 0);
  }

  /** Bytes handed to write() so far (the file's size once closed successfully). */
  get size(): number {
    return this.position + this.pendingBytes;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < FLUSH_BYTES) return;
    this.startBatch(await this.fd);
    if (this.writingBytes > MAX_BEHIND) await this.settle();
  }

  /** Flushes what was received and closes; used on success and failure alike. Returns the mtime. */
  async close(): Promise<number> {
    const fd = await this.fd;
    if (!this.streamed) {
      try {
        this.writeRestSync(fd);
        return fstatSync(fd).mtimeMs;
      } finally {
        closeSync(fd);
      }
    }
    try {
      this.startBatch(fd);
      await this.settle();
      return (await fstatAsync(fd)).mtimeMs;
    } finally {
      await closeAsync(fd);
    }
  }

  /** A small body: everything in one synchronous writev. */
  private writeRestSync(fd: number): void {
    let written = 0;
    while (written < this.pendingBytes) written += writevSync(fd, unwritten(this.pending, written), this.position + written);
    this.position += written;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private startBatch(fd: number): void {
    this.streamed = true;
    if (this.pendingBytes === 0) return;
    const chunks = this.pending;
    const bytes = this.pendingBytes;
    const at = this.position;
    this.pending = [];
    this.pendingBytes = 0;
    this.position += bytes;
    this.writingBytes += bytes;
    this.writing = this.writing.then(async () => {
      if (this.failure) return;
      try {
        let written = 0;
        while (written < bytes) written += await writevAsync(fd, unwritten(chunks, written), at + written);
      } catch (err) {
        this.failure = err;
      } finally {
        this.writingBytes -= bytes;
      }
    });
  }

  private async settle(): Promise<void> {
    await this.writing;
    if (this.failure) throw this.failure;
  }
}

/** What a short writev left of `chunks` after `written` bytes (all of them at first). */
function unwritten(chunks: Buffer[], written: number): Buffer[] {
  return written === 0 ? chunks : [Buffer.concat(chunks).subarray(written)];
}
