// Detached ASCII-armoured signatures with the system `gpg` (key chosen by --local-user;
// GNUPGHOME in the environment selects the keyring).
import { spawn } from 'node:child_process';

export async function detachSign(file: string, key: string): Promise<string> {
  const sigFile = `${file}.asc`;
  const args = ['--batch', '--yes', '--armor', '--local-user', key, '--output', sigFile, '--detach-sign', file];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('gpg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => reject(new Error(`cannot run gpg: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`gpg failed (exit ${code}): ${err.trim().split('\n').pop()}`))));
  });
  return sigFile;
}
