// `mirror bundle <dest> --out DIR` and `mirror unbundle <bundle> <dest>`: carry a mirror across
// an air gap as rolling .tar.zst volumes, verified and applied atomically on the other side.
import type { CAC } from 'cac';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, EXIT_FAILURES } from '../errors.js';
import { applyBundle, BundleError, readBundleIndex, writeBundle } from '../ops/bundle.js';
import { walkMirror } from '../ops/walk.js';
import { formatBytes, parseSize } from '../ops/units.js';

interface BundleFlags {
  out?: string;
  size: string;
  since?: string;
  name?: string;
  level: number;
  progress: boolean;
}

interface UnbundleFlags {
  check?: boolean;
  progress: boolean;
}

export function register(cli: CAC): void {
  cli
    .command('bundle <dest>', 'Write the mirror (or what changed since a run) as rolling .tar.zst volumes')
    .option('--out <dir>', 'Directory for the volumes and the bundle index (required)')
    .option('--size <size>', 'Largest volume, e.g. 8G, 700M (uncompressed tar bytes)', { default: '8G' })
    .option('--since <run>', 'Incremental: only files changed after run RUN, plus deletions')
    .option('--name <name>', 'Bundle name (default: mirror-<UTC time>)')
    .option('--level <n>', 'zstd compression level 1-19', { default: 3 })
    .option('--progress', 'Show a progress bar on a TTY (--no-progress to hide)', { default: true })
    .action(async (dest: string, flags: BundleFlags) => {
      const root = resolve(dest);
      if (!(await fs.stat(root).catch(() => null))?.isDirectory()) throw new UsageError(`${dest} is not a directory`);
      if (!flags.out) throw new UsageError('bundle needs --out DIR');
      const volumeSize = parseSize(String(flags.size));
      if (volumeSize === null || volumeSize < 64 * 1024) throw new UsageError(`--size must be a size of at least 64K (e.g. 8G), not '${flags.size}'`);
      const level = Number(flags.level);
      if (!Number.isInteger(level) || level < 1 || level > 19) throw new UsageError(`--level must be 1-19, not '${flags.level}'`);
      const name = flags.name ?? `mirror-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`--name may hold letters, digits, '.', '_' and '-' only`);
      if (flags.since !== undefined) throw new UsageError('--since needs the state DB (not available in this build)');

      const listing = await walkMirror(root);
      const index = await writeBundle({
        root,
        outDir: resolve(flags.out),
        name,
        files: listing.files,
        deleted: [],
        volumeSize,
        level,
        run: null,
        since: null,
        progress: flags.progress,
      });
      const total = index.volumes.reduce((n, v) => n + v.size, 0);
      process.stdout.write(
        `bundle ${name}: ${index.files} files (${formatBytes(index.bytes)}) in ${index.volumes.length} volume(s) of ${formatBytes(total)}, ` +
          `${index.deleted.length} deletion(s) -> ${join(resolve(flags.out), `${name}.bundle.json`)}\n`,
      );
    });

  cli
    .command('unbundle <bundle> <dest>', 'Verify a bundle (index file or directory of bundles) and restore it into dest')
    .option('--check', 'Verify everything, change nothing')
    .option('--progress', 'Show a progress bar on a TTY (--no-progress to hide)', { default: true })
    .action(async (bundle: string, dest: string, flags: UnbundleFlags) => {
      const indexes = await bundleIndexes(resolve(bundle));
      const root = resolve(dest);
      await fs.mkdir(root, { recursive: true });
      for (const file of indexes) {
        try {
          const r = await applyBundle(file, { dest: root, checkOnly: flags.check, progress: flags.progress });
          const verb = flags.check ? 'verified' : 'restored';
          process.stdout.write(`${verb} ${r.name}: ${r.files} files (${formatBytes(r.bytes)}), ${r.deleted} deletion(s)\n`);
        } catch (err) {
          if (!(err instanceof BundleError)) throw err;
          process.stderr.write(`mirror: ${err.message}; nothing from this bundle was applied\n`);
          process.exitCode = EXIT_FAILURES;
          return;
        }
      }
    });
}

/** A bundle index file, or every `*.bundle.json` of a directory in creation order. */
async function bundleIndexes(path: string): Promise<string[]> {
  const st = await fs.stat(path).catch(() => null);
  if (!st) throw new UsageError(`${path} does not exist`);
  if (st.isFile()) return [path];
  const files = (await fs.readdir(path)).filter((f) => f.endsWith('.bundle.json')).map((f) => join(path, f));
  if (files.length === 0) throw new UsageError(`${path} holds no *.bundle.json`);
  const created = new Map<string, string>();
  for (const f of files) {
    try {
      created.set(f, (await readBundleIndex(f)).created);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return files.sort((a, b) => created.get(a)!.localeCompare(created.get(b)!) || a.localeCompare(b));
}
