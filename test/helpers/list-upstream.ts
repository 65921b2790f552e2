// A `list` upstream on disk for tests: corpus files under a served directory, plus urls.txt
// and sums.jsonl describing them. Tests mutate it (change, remove, add) between syncs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeCorpus, type CorpusFile } from '../../src/demo/fixture-upstream.js';
import { serveDir, type RequestHook, type StaticServer } from './static-server.js';

export class ListUpstream {
  readonly root: string;
  readonly files = new Map<string, Buffer>();
  server!: StaticServer;

  private constructor(readonly work: string) {
    this.root = join(work, 'upstream');
    mkdirSync(this.root, { recursive: true });
  }

  static async start(count: number, hook?: RequestHook, seed = 7): Promise<ListUpstream> {
    const up = new ListUpstream(mkdtempSync(join(tmpdir(), 'mirror-test-')));
    for (const f of makeCorpus(count, seed, 256, 8192)) up.put(f);
    up.server = await serveDir(up.root, hook);
    up.writeLists();
    return up;
  }

  get listFile(): string {
    return join(this.work, 'urls.txt');
  }

  get sumsFile(): string {
    return join(this.work, 'sums.jsonl');
  }

  get host(): string {
    return new URL(this.server.url).host;
  }

  put(file: CorpusFile): void {
    this.files.set(file.path, file.content);
    const abs = join(this.root, file.path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, file.content);
  }

  remove(path: string): void {
    this.files.delete(path);
    rmSync(join(this.root, path));
  }

  /** Rewrites urls.txt and sums.jsonl from the current file set (extra raw lines appended). */
  writeLists(extraLines: string[] = [], sums?: Map<string, string>): void {
    const urls = [...this.files.keys()].map((p) => `${this.server.url}/${p}`);
    writeFileSync(this.listFile, `# test upstream\n\n${[...urls, ...extraLines].join('\n')}\n`);
    writeFileSync(
      this.sumsFile,
      [...this.files.entries()]
        .map(([p, content]) =>
          JSON.stringify({ url: `${this.server.url}/${p}`, sha256: sums?.get(p) ?? sha256(content), size: content.length }),
        )
        .join('\n') + '\n',
    );
  }

  mirrorPath(dest: string, path: string): string {
    return join(dest, this.host, path);
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.work, { recursive: true, force: true });
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
