// OpenPGP checks and signing for Release files, through the gpgv / gpg CLIs.
//
// Contract: `verifyClearsigned` checks an InRelease with `gpgv --keyring` and returns the
// signed text exactly as gpgv extracted it (never the unsigned parts of the file);
// `verifyDetached` checks Release against Release.gpg. Both accept only when gpgv reports at
// least one good signature (GOODSIG + VALIDSIG) and no bad one; otherwise they throw
// SignatureError with gpgv's reason. `prepareKeyring` turns an ASCII-armored key file into the
// binary form gpgv needs. `signRelease` writes InRelease and Release.gpg with the operator's gpg
// (their GNUPGHOME) and the key they named.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';

export class SignatureError extends Error {}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => reject(new SignatureError(`cannot run ${cmd}: ${err.message}`)));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Returns a keyring gpgv can read: the file itself, or a dearmored copy under workDir. */
export async function prepareKeyring(file: string, workDir: string): Promise<string> {
  const abs = resolve(file);
  let head: Buffer;
  try {
    const fh = await fs.open(abs, 'r');
    try {
      head = Buffer.alloc(64);
      const { bytesRead } = await fh.read(head, 0, 64, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new SignatureError(`cannot read keyring ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!head.toString('latin1').includes('-----BEGIN PGP')) return abs;
  await fs.mkdir(workDir, { recursive: true });
  const out = join(workDir, 'keyring.gpg');
  const r = await run('gpg', ['--batch', '--yes', '--homedir', await gpgHome(workDir), '--dearmor', '--output', out, abs]);
  if (r.code !== 0) throw new SignatureError(`cannot dearmor keyring ${file}: ${lastLine(r.stderr)}`);
  return out;
}

/** A private, empty GNUPGHOME so gpgv never reads or creates the operator's ~/.gnupg. */
async function gpgHome(workDir: string): Promise<string> {
  const home = join(workDir, 'gnupg');
  await fs.mkdir(home, { recursive: true, mode: 0o700 });
  return home;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines.length ? lines[lines.length - 1].replace(/^gpgv?: /, '') : 'no output';
}

function judge(r: Run, what: string): void {
  const status = r.stdout.split('\n');
  const has = (tag: string) => status.some((l) => l.startsWith(`[GNUPG:] ${tag} `) || l === `[GNUPG:] ${tag}`);
  if (has('BADSIG')) throw new SignatureError(`${what}: BAD signature`);
  if (!has('GOODSIG') || !has('VALIDSIG')) {
    const reason = has('NO_PUBKEY') ? 'signed by a key not in the keyring' : has('NODATA') ? 'no signature found' : lastLine(r.stderr);
    throw new SignatureError(`${what}: signature not verified (${reason})`);
  }
}

function gpgvArgs(home: string, keyring: string): string[] {
  return ['--homedir', home, '--status-fd', '1', '--keyring', keyring];
}

/** Verifies a clearsigned InRelease; returns the signed Release text. */
export async function verifyClearsigned(file: string, keyring: string, workDir: string): Promise<string> {
  const home = await gpgHome(workDir);
  const head = (await fs.readFile(file, 'latin1')).slice(0, 40);
  if (!head.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
    throw new SignatureError('InRelease is not a clearsigned message');
  }
  const out = join(workDir, 'InRelease.signed-text');
  await fs.rm(out, { force: true });
  const r = await run('gpgv', [...gpgvArgs(home, keyring), '--output', out, file]);
  judge(r, 'InRelease');
  return fs.readFile(out, 'utf8');
}

export async function verifyDetached(signature: string, data: string, keyring: string, workDir: string, what = 'Release.gpg'): Promise<void> {
  const home = await gpgHome(workDir);
  const r = await run('gpgv', [...gpgvArgs(home, keyring), signature, data]);
  judge(r, what);
}

/** Signs `release` into `inRelease` (clearsigned) and `releaseGpg` (detached, armored). */
export async function signRelease(release: string, inRelease: string, releaseGpg: string, keyId: string): Promise<void> {
  const base = ['--batch', '--yes', '--local-user', keyId, '--digest-algo', 'SHA512'];
  const clear = await run('gpg', [...base, '--clearsign', '--output', inRelease, release]);
  if (clear.code !== 0) throw new SignatureError(`cannot sign Release with key ${keyId}: ${lastLine(clear.stderr)}`);
  const detached = await run('gpg', [...base, '--armor', '--detach-sign', '--output', releaseGpg, release]);
  if (detached.code !== 0) throw new SignatureError(`cannot sign Release with key ${keyId}: ${lastLine(detached.stderr)}`);
}

/**
 * The text of a clearsigned message WITHOUT checking its signature (only for the operator's
 * explicit --no-verify-signature, or to read back the mirror's own published InRelease): the
 * lines between the armor header and the signature block, dash-unescaped.
 */
export function clearsignedText(message: string): string {
  const lines = message.split(/\r?\n/);
  if (lines[0] !== '-----BEGIN PGP SIGNED MESSAGE-----') throw new SignatureError('InRelease is not a clearsigned message');
  let i = 1;
  while (i < lines.length && lines[i] !== '') i++; // armor headers ("Hash: SHA512")
  const body: string[] = [];
  for (i++; i < lines.length && lines[i] !== '-----BEGIN PGP SIGNATURE-----'; i++) {
    body.push(lines[i].startsWith('- ') ? lines[i].slice(2) : lines[i]);
  }
  if (i >= lines.length) throw new SignatureError('InRelease has no signature block');
  return body.join('\n') + '\n';
}
