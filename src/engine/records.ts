// The two ways a run records a file in the state DB: placed (present on disk, with what was
// verified) or failed (a new file: 'failed'; a file the mirror holds or should hold, i.e. a
// present/stale row whose replacement failed or a missing one repair could not fetch: the row
// stays as it was, error noted).
// One statement each, shared by fetch, publish and repair.
import type Database from 'better-sqlite3';

export interface PlacedFile {
  path: string;
  source: string;
  role: 'blob' | 'index';
  url: string | null;
  size: number | null;
  /** Canonical JSON of the expected checksums. */
  checksums: string;
  stage: number | null;
  presentSize: number;
  mtime: number;
  sha256: string | null;
  now: number;
  run: number;
}

export interface FailedFile {
  path: string;
  source: string;
  url: string;
  size: number | null;
  checksums: string;
  error: string;
  run: number;
}

export interface FileRecords {
  placed(file: PlacedFile): void;
  failed(file: FailedFile): void;
}

/** States of a row whose bytes the mirror holds (or, for 'missing', should hold) as recorded. */
const ON_DISK = `('present', 'stale', 'missing')`;

export function prepareRecords(raw: Database.Database): FileRecords {
  const placed = raw.prepare(`
    INSERT INTO files (path, source, role, url, size, checksums, stage, state, present_size,
                       present_mtime_ms, present_sha256, verified_at, error, updated_run)
    VALUES (@path, @source, @role, @url, @size, @checksums, @stage, 'present', @presentSize,
            @mtime, @sha256, @now, NULL, @run)
    ON CONFLICT (path) DO UPDATE SET
      source = excluded.source, role = excluded.role, url = excluded.url, size = excluded.size,
      checksums = excluded.checksums, stage = excluded.stage, state = 'present',
      present_size = excluded.present_size, present_mtime_ms = excluded.present_mtime_ms,
      present_sha256 = excluded.present_sha256, verified_at = excluded.verified_at,
      error = NULL, updated_run = excluded.updated_run`);
  // A failed replacement leaves the file the live index describes in place: its row keeps
  // describing those bytes (and stays checked by verify), with the error noted. The next run
  // plans the replacement again from upstream's index.
  const failed = raw.prepare(`
    INSERT INTO files (path, source, role, url, size, checksums, state, error, updated_run)
    VALUES (@path, @source, 'blob', @url, @size, @checksums, 'failed', @error, @run)
    ON CONFLICT (path) DO UPDATE SET
      url = iif(files.state IN ${ON_DISK}, files.url, excluded.url),
      size = iif(files.state IN ${ON_DISK}, files.size, excluded.size),
      checksums = iif(files.state IN ${ON_DISK}, files.checksums, excluded.checksums),
      state = iif(files.state IN ${ON_DISK}, files.state, 'failed'),
      error = excluded.error, updated_run = excluded.updated_run`);
  return {
    placed: (file) => void placed.run(file),
    failed: (file) => void failed.run(file),
  };
}
