// Buffered positional writer for a tmp file: gathers body chunks and writes them with one
// writev per ~256 KiB, so a small file costs one open, one write and one close. For large
// bodies the writes run behind the network: one batch is written while the next one fills,
// and the caller waits only when more than MAX_BEHIND bytes are not yet on their way to the
// kernel. Durability (fsync) is the caller's business: the engine batches it.

import { promises as fs } from 'node:fs';

const FLUSH_BYTES = 256 * 1024;
const MAX_BEHIND = 1024 * 1024;

export class BufferedFileWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Where the next batch goes (bytes already handed to a write). */
  private position: number;
  private writing: Promise<void> = Promise.resolve();
  private writingBytes = 0;
  private failure: unknown = null;

  private constructor(
    private readonly handle: fs.FileHandle,
    offset: number,
  ) {
    this.position = offset;
  }

  /** Opens `file` for writing at `offset`: truncated when 0, continued (resume) otherwise. */
  static async open(file: string, offset: number): Promise<BufferedFileWriter> {
    if (offset === 0) return new BufferedFileWriter(await fs.open(file, 'w'), 0);
    const handle = await fs.open(file, 'r+');
    await handle.truncate(offset);
    return new BufferedFileWriter(handle, offset);
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
    this.startBatch();
    if (this.writingBytes > MAX_BEHIND) await this.settle();
  }

  /** Flushes what was received and closes; used on success and failure alike. */
  async close(): Promise<void> {
    try {
      this.startBatch();
      await this.settle();
    } finally {
      await this.handle.close();
    }
  }

  private startBatch(): void {
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
        while (written < bytes) {
          const batch = written === 0 ? chunks : [Buffer.concat(chunks).subarray(written)];
          written += (await this.handle.writev(batch, at + written)).bytesWritten;
        }
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
