// One HTTP exchange through undici's dispatch API with a minimal handler (no Readable stream):
// the response head resolves openResponse(), body chunks queue in arrival order and are
// pulled with next(), and a transport error surfaces only after every chunk that arrived
// before it, so a resume continues from the last byte actually received. The connection is
// paused while more than HIGH_WATER bytes wait in the queue.

import type { Dispatcher } from 'undici';
import { onAbort } from './abort-listeners.js';

const HIGH_WATER = 1024 * 1024;
const DUMP_LIMIT = 128 * 1024;

export type Headers = Record<string, string | string[] | undefined>;

interface Controller {
  pause(): void;
  resume(): void;
  abort(reason: unknown): void;
  readonly paused: boolean;
}

export class ResponseStream {
  private chunks: Buffer[] = [];
  private queued = 0;
  private done = false;
  private error: unknown = null;
  private cancelled = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly controller: Controller,
    readonly statusCode: number,
    readonly headers: Headers,
  ) {}

  /** The next body chunk, or null at the end; throws the transport error once drained. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        this.queued -= chunk.length;
        if (this.controller.paused && this.queued < HIGH_WATER / 2) this.controller.resume();
        return chunk;
      }
      if (this.error) throw this.error;
      if (this.done) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stops the exchange (the connection or HTTP/2 stream is closed); a no-op once it ended. */
  cancel(reason: unknown): void {
    if (this.done || this.error || this.cancelled) return;
    this.cancelled = true;
    this.controller.abort(reason);
  }

  /** Reads and discards a short body so the connection can be reused; cancels a long one. */
  async dump(): Promise<void> {
    let seen = 0;
    try {
      for (let c = await this.next(); c; c = await this.next()) {
        seen += c.length;
        if (seen > DUMP_LIMIT) return this.cancel(new Error('body discarded'));
      }
    } catch {
      // the exchange failed while being discarded: nothing to keep
    }
  }

  /** @internal handler side */
  push(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.queued += chunk.length;
    this.notify();
    return this.queued < HIGH_WATER;
  }

  /** @internal handler side */
  finish(error: unknown): void {
    if (this.done || this.error) return;
    if (error) this.error = error;
    else this.done = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** Sends a request; resolves with the response head once it arrives. */
export function openResponse(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, signal?: AbortSignal): Promise<ResponseStream> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let controller: Controller | null = null;
    let stream: ResponseStream | null = null;
    const cleanup = signal
      ? onAbort(signal, () => {
          if (controller) controller.abort(signal.reason);
          else reject(signal.reason);
        })
      : () => undefined;
    dispatcher.dispatch(opts, {
      onRequestStart(c: Controller) {
        controller = c;
        if (signal?.aborted) c.abort(signal.reason);
      },
      onResponseStart(c: Controller, statusCode: number, headers: Headers) {
        stream = new ResponseStream(c, statusCode, headers);
        resolve(stream);
      },
      onResponseData(c: Controller, chunk: Buffer) {
        if (!stream!.push(chunk)) c.pause();
      },
      onResponseEnd() {
        cleanup();
        stream!.finish(null);
      },
      onResponseError(_c: Controller | undefined, err: Error) {
        cleanup();
        if (stream) stream.finish(err);
        else reject(err);
      },
    } as unknown as Dispatcher.DispatchHandler);
  });
}
