// The audit manifest: every run appends JSON lines to `<dest>/.mirror/manifest.jsonl`, never
// rewriting earlier lines. One `file` record per file per run (downloaded, published, deleted,
// failed, and kept — wanted by the run and already present — as the engine reports them), then
// one `run` record with the summary. At the start of a run, a file at
// or over the size limit is rotated to `manifest.<N>.jsonl` (N increasing; nothing is deleted),
// so one run's records always sit in one file. Credentials in URLs are redacted.
//
// Record schema (v = MANIFEST_SCHEMA):
//   {"v":1,"type":"file","run":7,"path":"...","url":"...","size":123,"sha256":"...",
//    "outcome":"downloaded","attempts":1,"error":null,"started":"ISO","finished":"ISO"}
//   {"v":1,"type":"run","run":7,"source":"list","upstream":"...","outcome":"success",
//    "started":"ISO","finished":"ISO","counts":{...},"bytes":123,"error":null}
import { closeSync, constants, existsSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, writeSync, mkdirSync, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { FileEvent, RunEvents, RunStartEvent, RunSummary } from '../../engine/events.js';
import { redactCredentials } from '../../util/redact.js';

export const MANIFEST_SCHEMA = 1;
export const DEFAULT_MANIFEST_MAX_SIZE = 256 * 1024 * 1024;
const CURRENT = 'manifest.jsonl';
const ROTATED = /^manifest\.(\d+)\.jsonl$/;
const FLUSH_BYTES = 256 * 1024;

export interface FileRecord {
  v: number;
  type: 'file';
  run: number;
  path: string;
  url: string | null;
  size: number | null;
  sha256: string | null;
  outcome: FileEvent['outcome'];
  attempts: number | null;
  error: string | null;
  started: string | null;
  finished: string;
}

export interface RunRecord {
  v: number;
  type: 'run';
  run: number;
  source: string;
  upstream: string;
  outcome: RunSummary['outcome'];
  started: string;
  finished: string;
  counts: RunSummary['counts'];
  bytes: number;
  error: string | null;
}

export type ManifestRecord = FileRecord | RunRecord;

export interface ManifestOptions {
  /** `<dest>/.mirror` */
  privateDir: string;
  maxSize?: number;
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * Appends every run reported by `events` to the manifest of `privateDir`. `close()` flushes
 * what a run that ended abnormally (no run-end) had buffered.
 */
export function attachManifest(events: RunEvents, opts: ManifestOptions): { close(): void } {
  let fd: number | null = null;
  let buffer = '';
  const flush = () => {
    if (fd !== null && buffer) writeSync(fd, buffer);
    buffer = '';
  };
  const append = (record: ManifestRecord) => {
    buffer += JSON.stringify(record) + '\n';
    if (buffer.length >= FLUSH_BYTES) flush();
  };

  events.on('run-start', (_e: RunStartEvent) => {
    mkdirSync(opts.privateDir, { recursive: true });
    rotateIfLarge(opts.privateDir, opts.maxSize ?? DEFAULT_MANIFEST_MAX_SIZE);
    fd = openSync(join(opts.privateDir, CURRENT), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  });
  events.on('file', (e) => {
    append({
      v: MANIFEST_SCHEMA,
      type: 'file',
      run: e.runId,
      path: e.path,
      url: e.url === undefined ? null : redactCredentials(e.url),
      size: e.size ?? null,
      sha256: e.sha256 ?? null,
      outcome: e.outcome,
      attempts: e.attempts ?? null,
      error: e.error === undefined ? null : redactCredentials(e.error),
      started: e.startedAt !== undefined ? iso(e.startedAt) : null,
      finished: iso(e.finishedAt),
    });
  });
  events.on('run-end', (s) => {
    if (fd === null) return;
    const finished = iso(s.endedAt);
    append({
      v: MANIFEST_SCHEMA,
      type: 'run',
      run: s.runId,
      source: s.source,
      upstream: redactCredentials(s.upstream),
      outcome: s.outcome,
      started: iso(s.startedAt),
      finished,
      counts: s.counts,
      bytes: s.bytesDownloaded,
      error: s.error === undefined ? null : redactCredentials(s.error),
    });
    closeFile();
  });
  const closeFile = () => {
    if (fd === null) return;
    flush();
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
  };
  return { close: closeFile };
}

function rotateIfLarge(privateDir: string, maxSize: number): void {
  const current = join(privateDir, CURRENT);
  if (!existsSync(current) || lstatSync(current).size < maxSize) return;
  const next = Math.max(0, ...manifestFiles(privateDir).map((f) => Number(f.match(ROTATED)?.[1] ?? 0))) + 1;
  renameSync(current, join(privateDir, `manifest.${next}.jsonl`));
}

/** Manifest files of a mirror, oldest first (rotated by number, then the current one). */
export function manifestFiles(privateDir: string): string[] {
  if (!existsSync(privateDir)) return [];
  const names = readdirSync(privateDir);
  const rotated = names.filter((n) => ROTATED.test(n)).sort((a, b) => Number(a.match(ROTATED)![1]) - Number(b.match(ROTATED)![1]));
  return names.includes(CURRENT) ? [...rotated, CURRENT] : rotated;
}

/** Every record of every manifest file, oldest first; a torn last line (crash) is skipped. */
export async function* readManifest(privateDir: string): AsyncGenerator<ManifestRecord> {
  for (const name of manifestFiles(privateDir)) {
    const lines = createInterface({ input: createReadStream(join(privateDir, name)), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      let record: ManifestRecord;
      try {
        record = JSON.parse(line) as ManifestRecord;
      } catch {
        continue;
      }
      if (record && typeof record === 'object' && typeof record.run === 'number') yield record;
    }
  }
}
