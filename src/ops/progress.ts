// A one-line progress bar on stderr for long commands (inventory, bundle, unbundle). Draws only
// when stderr is a TTY and progress is enabled, at most ~8 times a second; `done()` clears it.
import { formatBytes } from './units.js';

export interface ProgressOptions {
  label: string;
  totalItems: number;
  totalBytes: number;
  enabled?: boolean;
}

export class ProgressBar {
  private items = 0;
  private bytes = 0;
  private lastDraw = 0;
  private readonly started = Date.now();
  private readonly enabled: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.enabled = (opts.enabled ?? true) && process.stderr.isTTY === true;
  }

  tick(items: number, bytes: number): void {
    this.items += items;
    this.bytes += bytes;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 125 && this.items < this.opts.totalItems) return;
    this.lastDraw = now;
    this.draw(now);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }

  private draw(now: number): void {
    const { totalItems, totalBytes, label } = this.opts;
    const fraction = totalBytes > 0 ? this.bytes / totalBytes : totalItems > 0 ? this.items / totalItems : 1;
    const width = 24;
    const filled = Math.min(width, Math.round(fraction * width));
    const rate = this.bytes / Math.max(0.001, (now - this.started) / 1000);
    const line =
      `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
      `${this.items}/${totalItems} files ${formatBytes(this.bytes)}/${formatBytes(totalBytes)} ${formatBytes(rate)}/s`;
    const columns = process.stderr.columns || 100;
    process.stderr.write('\r\x1b[2K' + line.slice(0, columns - 1));
  }
}
