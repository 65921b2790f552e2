// A counting semaphore whose limit can change at run time (the adaptive controller moves it).
// Lowering the limit never interrupts holders: new acquirers simply wait until the count drops.
// Waiters are served FIFO and leave the queue when their signal aborts.

import { onAbort } from './abort-listeners.js';

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  forget?: () => void;
}

export class Semaphore {
  private held = 0;
  private readonly waiters: Waiter[] = [];

  constructor(private max: number) {}

  get limit(): number {
    return this.max;
  }
  get inUse(): number {
    return this.held;
  }
  get queued(): number {
    return this.waiters.length;
  }

  setLimit(limit: number): void {
    this.max = Math.max(1, Math.floor(limit));
    this.drain();
  }

  tryAcquire(): boolean {
    if (this.held < this.max && this.waiters.length === 0) {
      this.held++;
      return true;
    }
    return false;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      if (signal) {
        waiter.forget = onAbort(signal, () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        });
      }
      this.waiters.push(waiter);
    });
  }

  release(): void {
    this.held--;
    this.drain();
  }

  private drain(): void {
    while (this.held < this.max && this.waiters.length > 0) {
      const w = this.waiters.shift()!;
      w.forget?.();
      this.held++;
      w.resolve();
    }
  }
}
