// Durability for groups of files. Instead of an fdatasync per file and an fsync per directory,
// a group pays for two filesystem syncs (syncfs(2), through coreutils' `sync -f`): one before
// its renames, so that every name points at data already on disk, and one after, so that the
// names themselves are on disk before the DB records the files as present.
import { execFile } from 'node:child_process';

export function syncFilesystem(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', path], (err) => (err ? reject(new Error(`cannot sync the filesystem of ${path}: ${err.message}`)) : resolve()));
  });
}
