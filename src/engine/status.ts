// Mirror status in the shape mirror farms read: `<dest>/.mirror/status.json`, written when a
// run starts (syncing) and when it ends, and derived from the state DB for `mirror status`.
import { writeFileSync, renameSync, readFileSync, rmSync } from 'node:fs';
import type { StateDb } from '../state/types.js';
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
export async function readStatusFromDb(state: StateDb, name: string, knownSize?: MirrorStatus['size']): Promise<MirrorStatus> {
  const last = await state.runs.lastSync();
  const lastSuccess = await state.runs.lastSuccessfulSyncEnd();
  const size = knownSize ?? (await state.files.presentSize());
  const iso = (t: number | null | undefined) => (t ? new Date(t).toISOString() : null);
  let status: MirrorStatus['status'] = 'never';
  if (last) status = last.endedAt === null ? 'syncing' : (last.outcome as MirrorStatus['status']);
  return {
    name,
    status,
    last_update: iso(lastSuccess),
    last_started: iso(last?.startedAt),
    last_ended: iso(last?.endedAt),
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
