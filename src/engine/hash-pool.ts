// A pool of worker threads hashing files with sha256, one per core, several files in flight
// per worker so that I/O overlaps. `hash(path)` resolves with the digest and byte count.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

export interface FileHash {
  sha256: string;
  size: number;
}

interface Pending {
  resolve: (h: FileHash) => void;
  reject: (e: Error) => void;
}

export class HashPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(size = availableParallelism()) {
    const script = new URL('./hash-worker.js', import.meta.url);
    this.workers = Array.from({ length: Math.max(1, size) }, () => {
      const worker = new Worker(script);
      worker.on('message', (msg: { id: number; sha256?: string; size?: number; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error !== undefined) p.reject(new Error(msg.error));
        else p.resolve({ sha256: msg.sha256!, size: msg.size! });
      });
      return worker;
    });
  }

  /** How many hashes may usefully be in flight at once. */
  get capacity(): number {
    return this.workers.length * 4;
  }

  hash(path: string): Promise<FileHash> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[id % this.workers.length].postMessage({ id, path });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
