// Mirror status in the shape mirror farms read: `<dest>/.mirror/status.json`, written when a
// run starts (syncing) and when it ends, and derived from the state DB for `mirror status`.
import { writeFileSync, renameSync, readFileSync, rmSync } from 'node:fs';
import type { StateDb } from '../state/db.js';
import { redactCredentials } from '../util/redact.js';

export interface MirrorStatus {
  name: string;
  status: 'success' | 'failed' | 'syncing' | 'interrupted' | 'never';
  last_update: string | null;
  last_started: string | null;
  last_ended: string | null;
  upstream: string | null;
  size: { bytes: number; files: number };
  error_msg: string | null;
}

/** `knownSize` skips counting the mirror (a scan of every row) when the caller knows it is unchanged. */
export function readStatusFromDb(state: StateDb, name: string, knownSize?: MirrorStatus['size']): MirrorStatus {
  const { raw } = state;
  const last = raw.prepare(`SELECT * FROM runs WHERE command = 'sync' ORDER BY id DESC LIMIT 1`).get() as
    | { upstream: string; started_at: number; ended_at: number | null; outcome: string | null; error: string | null }
    | undefined;
  const lastSuccess = raw.prepare(`SELECT max(ended_at) FROM runs WHERE command = 'sync' AND outcome = 'success'`).pluck().get() as number | null;
  const size =
    knownSize ??
    (raw
      .prepare(`SELECT count(*) AS files, coalesce(sum(present_size), 0) AS bytes FROM files WHERE state = 'present'`)
      .get() as { files: number; bytes: number });
  const iso = (t: number | null | undefined) => (t ? new Date(t).toISOString() : null);
  let status: MirrorStatus['status'] = 'never';
  if (last) status = last.ended_at === null ? 'syncing' : (last.outcome as MirrorStatus['status']);
  return {
    name,
    status,
    last_update: iso(lastSuccess),
    last_started: iso(last?.started_at),
    last_ended: iso(last?.ended_at),
    upstream: last ? redactCredentials(last.upstream) : null,
    size,
    error_msg: last?.error ? redactCredentials(last.error) : null,
  };
}

export function writeStatusFile(file: string, status: MirrorStatus): void {
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, JSON.stringify(status, null, 2) + '\n', { flag: 'wx' }); // O_EXCL: never through a symlink
  renameSync(tmp, file);
}

export function readStatusFile(file: string): MirrorStatus | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as MirrorStatus;
  } catch {
    return null;
  }
}
