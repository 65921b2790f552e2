// Durability helpers shared by the stages that place files: flush a file's data to disk (and
// return its stat), move it into place, then flush the directories that changed. Callers
// batch these so one group of files pays for one round of directory syncs.
import { promises as fs, type Stats } from 'node:fs';
import { dirname } from 'node:path';

export async function syncFile(path: string): Promise<Stats> {
  const handle = await fs.open(path, 'r');
  try {
    await handle.datasync();
    return await handle.stat();
  } finally {
    await handle.close();
  }
}

export async function syncDirs(files: Iterable<string>): Promise<void> {
  const dirs = new Set<string>();
  for (const file of files) dirs.add(dirname(file));
  await Promise.all(
    [...dirs].map(async (dir) => {
      const handle = await fs.open(dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }),
  );
}
