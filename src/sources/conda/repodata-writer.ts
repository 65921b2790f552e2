// Writes a rewritten repodata.json (or current_repodata.json) while the scanner walks the
// upstream one: top-level members are copied in upstream order, `info` loses `base_url`
// (packages then resolve against the mirror's own subdir), and package maps keep only the
// records the caller passes on, as their original raw bytes (so record checksums, patches and
// field order are untouched). Output is buffered and written synchronously in 1 MiB blocks.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { PackageSection } from './repodata-scanner.js';

const FLUSH_BYTES = 1 << 20;

export class RepodataWriter {
  private readonly fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private firstMember = true;
  private firstRecord = true;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'w');
    this.put('{');
  }

  member(key: string, raw: Buffer): void {
    this.startMember(key);
    if (key === 'info') {
      const info = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      delete info.base_url;
      this.put(JSON.stringify(info));
    } else {
      this.put(Buffer.from(raw));
    }
  }

  sectionStart(section: PackageSection): void {
    this.startMember(section);
    this.put('{');
    this.firstRecord = true;
  }

  record(filename: string, raw: Buffer): void {
    this.put(`${this.firstRecord ? '' : ','}${JSON.stringify(filename)}:`);
    this.put(Buffer.from(raw));
    this.firstRecord = false;
  }

  sectionEnd(): void {
    this.put('}');
  }

  /** Closes the object and the file. */
  finish(): void {
    this.put('}\n');
    this.flush();
    closeSync(this.fd);
  }

  /** Closes the file after a failure (its content is then garbage in staging). */
  abandon(): void {
    closeSync(this.fd);
  }

  private startMember(key: string): void {
    this.put(`${this.firstMember ? '' : ','}${JSON.stringify(key)}:`);
    this.firstMember = false;
  }

  private put(chunk: string | Buffer): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    const block = Buffer.concat(this.pending, this.pendingBytes);
    let off = 0;
    while (off < block.length) off += writeSync(this.fd, block, off);
    this.pending = [];
    this.pendingBytes = 0;
  }
}
