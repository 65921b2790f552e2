// What the downloader keeps per origin (scheme://host:port): its adaptive concurrency
// controller and the semaphore that enforces it, a Retry-After pause shared by all its
// requests, and the HTTP/2 probe gate (see awaitConnection).

import type { Logger } from 'pino';
import { AdaptiveConcurrency } from './adaptive-concurrency.js';
import { onAbort } from './abort-listeners.js';
import { Semaphore } from './semaphore.js';

export class OriginState {
  readonly controller: AdaptiveConcurrency;
  readonly slots: Semaphore;
  pausedUntil = 0;
  /**
   * TLS origins may speak HTTP/2, which undici learns only once a connection is up. Until then
   * one request goes alone (the "probe"), so a burst of first requests does not open one
   * connection each before multiplexing starts.
   */
  private connected: boolean;
  private probe: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(
    readonly origin: string,
    opts: { pinned?: number; initial: number; max: number },
    log?: Logger,
  ) {
    this.connected = !origin.startsWith('https:');
    this.controller = new AdaptiveConcurrency({
      pinned: opts.pinned,
      initial: opts.initial,
      max: opts.max,
      onChange: (limit, reason) => {
        this.slots.setLimit(limit);
        log?.debug({ origin, concurrency: limit, reason }, 'concurrency changed');
      },
    });
    this.slots = new Semaphore(this.controller.limit);
  }

  /** Waits while another request probes the connection; true if the caller is the prober. */
  async awaitConnection(signal: AbortSignal | undefined): Promise<boolean> {
    while (!this.connected) {
      if (!this.probe) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.probe = { promise, resolve };
        return true;
      }
      await abortable(this.probe.promise, signal);
    }
    return false;
  }

  /** The first exchange with the origin finished (ok: a response arrived). */
  settleProbe(ok: boolean): void {
    if (ok) this.connected = true;
    const probe = this.probe;
    this.probe = null;
    probe?.resolve();
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const forget = onAbort(signal, () => reject(signal.reason));
    promise.then(
      (v) => (forget(), resolve(v)),
      (e) => (forget(), reject(e)),
    );
  });
}
