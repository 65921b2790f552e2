// Regenerates repodata.json.bz2 / repodata.json.zst from a rewritten repodata.json by
// streaming the file through the system `bzip2` / `zstd` CLIs (Node 20's zlib has neither
// format for compression). Returns false when the tool is not installed, so the caller can
// skip that variant instead of publishing a stale one.
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';

export type RepodataCompression = 'bz2' | 'zst';

const COMMANDS: Record<RepodataCompression, [string, string[]]> = {
  bz2: ['bzip2', ['-c', '-9']],
  zst: ['zstd', ['-c', '-q', '-T0', '-10']],
};

export async function compressFile(input: string, output: string, format: RepodataCompression): Promise<boolean> {
  const [command, args] = COMMANDS[format];
  const src = await open(input, 'r');
  const dst = await open(output, 'w');
  try {
    return await new Promise<boolean>((resolve, reject) => {
      const child = spawn(command, args, { stdio: [src.fd, dst.fd, 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve(false) : reject(err)));
      child.on('close', (code) => {
        if (code === 0) resolve(true);
        else reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`));
      });
    });
  } finally {
    await src.close();
    await dst.close();
  }
}
