// Flags through the real CLI: a flag given on the command line wins over mirror.toml even when
// it equals the default (--concurrency auto), a config file's `http1 = true` can be undone with
// --no-http1, and `--help` and the README's flag tables say what src/commands/flags.ts declares.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { makeSelfSignedCert, seededBytes, sha256, startFaultServer, type FaultServer } from './helpers/fault-server.js';
import { COMMANDS, GLOBAL_FLAGS, flagForms, flagTable } from '../src/commands/flags.js';

const env = { MIRROR_RETRY_BASE_MS: '10', MIRROR_RETRY_CAP_MS: '50' };
const files: Record<string, Buffer> = {};
for (let i = 0; i < 12; i++) files[`/pkg/f${i}.bin`] = seededBytes(5, `f${i}`, 20_000);

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mirror-flags-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A URL list with its checksums, and a mirror.toml with one job over it plus `settings`. */
function configFor(server: FaultServer, name: string, settings: string): string {
  const list = join(root, `${name}.txt`);
  const sums = join(root, `${name}.jsonl`);
  const paths = Object.keys(files);
  writeFileSync(list, paths.map((p) => server.url + p).join('\n') + '\n');
  writeFileSync(sums, paths.map((p) => JSON.stringify({ url: server.url + p, sha256: sha256(files[p]), size: files[p].length })).join('\n') + '\n');
  const config = join(root, `${name}.toml`);
  writeFileSync(config, `progress = false\n[[job]]\nname = "${name}"\nkind = "list"\nupstream = "${list}"\ndest = "${name}-dest"\n${settings}\n[job.options]\nchecksums = "${sums}"\n`);
  return config;
}

describe('flags and mirror.toml', () => {
  it('a flag given on the command line wins over the file even when it equals the default (--concurrency auto)', async () => {
    // Every response trickles for ~0.3 s, so downloads overlap unless concurrency is 1.
    const slow = Object.fromEntries(Object.keys(files).map((p) => [p, Array(3).fill({ kind: 'trickle', chunkBytes: 2000, intervalMs: 30 })]));
    const server = await startFaultServer({ files, script: slow });
    try {
      const fromFile = await runCli(['sync', '--config', configFor(server, 'one', 'concurrency = 1')], { env });
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(server.stats().maxInFlight).toBe(1);
      const given = await runCli(['sync', '--config', configFor(server, 'auto', 'concurrency = 1'), '--concurrency', 'auto'], { env });
      expect(given.code, given.stderr).toBe(0);
      expect(server.stats().maxInFlight).toBeGreaterThan(1);
    } finally {
      await server.close();
    }
  });

  it("a config file's http1 = true speaks HTTP/1.1, and --no-http1 on the command line undoes it", async () => {
    const certDir = mkdtempSync(join(root, 'tls-'));
    const tls = makeSelfSignedCert(certDir);
    const server = await startFaultServer({ files, tls });
    const tlsEnv = { ...env, NODE_EXTRA_CA_CERTS: join(certDir, 'cert.pem') };
    try {
      for (const [name, flags, version] of [['h1', [], '1.1'], ['h2', ['--no-http1'], '2.0']] as const) {
        const before = server.log.length;
        const r = await runCli(['sync', '--config', configFor(server, name, 'http1 = true'), ...flags], { env: tlsEnv });
        expect(r.code, r.stderr).toBe(0);
        expect([...new Set(server.log.slice(before).map((e) => e.httpVersion))], name).toEqual([version]);
      }
    } finally {
      await server.close();
    }
  });
});

describe('help and README flag tables', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  /** The README's table after `<!-- flags: NAME -->`, up to the first line not starting with '|'. */
  const readmeTable = (name: string) => {
    const at = readme.indexOf(`<!-- flags: ${name} -->\n`);
    if (at < 0) return `no '<!-- flags: ${name} -->' in README.md`;
    const lines = readme.slice(at).split('\n').slice(1);
    return lines.slice(0, lines.findIndex((l) => !l.startsWith('|'))).join('\n');
  };

  it('the README shows each flag table as declared', () => {
    expect(readmeTable('global')).toBe(flagTable(GLOBAL_FLAGS));
    for (const command of COMMANDS.filter((c) => c.flags.length > 0)) expect(readmeTable(command.name), command.name).toBe(flagTable(command.flags));
  });

  it('every command --help lists its flags and the global ones with their declared text', async () => {
    for (const command of COMMANDS) {
      const r = await runCli([command.name, '--help']);
      expect(r.code, command.name).toBe(0);
      const help = r.stdout.replace(/\s+/g, ' ');
      for (const form of [...command.flags, ...GLOBAL_FLAGS].flatMap(flagForms)) {
        expect(help, `${command.name} ${form.usage}`).toContain(`${form.usage.replace(/ (.+)$/, ' <$1>')} ${form.help}`.replace(/\s+/g, ' '));
      }
    }
  });

  it('sync --help tells each source flag in its own words: no default on --no-verify-signature, globs for conda and crates', async () => {
    const r = await runCli(['sync', '--help']);
    const line = (flag: string) => r.stdout.split('\n').find((l) => l.trimStart().startsWith(`${flag} `)) ?? '';
    expect(line('--no-verify-signature')).not.toMatch(/default/);
    expect(line('--include <value>')).toMatch(/\[apt\] [^·]*regex[^·]*· \[conda\] [^·]*glob[^·]*· \[crates\] [^·]*glob/);
    expect(r.stdout).not.toMatch(/\(default: true\)/);
  });
});
