// Buffered positional writer for a tmp file: gathers body chunks and writes them with one
// writev per ~256 KiB, so a small file costs one open, one write and one close. Durability
// (fsync) is the caller's business: the engine batches it.

import { promises as fs } from 'node:fs';

const FLUSH_BYTES = 256 * 1024;

export class BufferedFileWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private constructor(
    private readonly handle: fs.FileHandle,
    private position: number,
  ) {}

  /** Opens `file` for writing at `offset`: truncated when 0, continued (resume) otherwise. */
  static async open(file: string, offset: number): Promise<BufferedFileWriter> {
    if (offset === 0) return new BufferedFileWriter(await fs.open(file, 'w'), 0);
    const handle = await fs.open(file, 'r+');
    await handle.truncate(offset);
    return new BufferedFileWriter(handle, offset);
  }

  /** Bytes handed to write() so far, flushed or not (the file's size once closed). */
  get size(): number {
    return this.position + this.pendingBytes;
  }

  async write(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunks = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    let written = 0;
    while (written < bytes) {
      const { bytesWritten } = await this.handle.writev(written === 0 ? chunks : [Buffer.concat(chunks).subarray(written)], this.position + written);
      written += bytesWritten;
    }
    this.position += bytes;
  }

  /** Flushes what was received and closes; used on success and failure alike. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }
}
