// `mirror bundle <dest> --out DIR` and `mirror unbundle <bundle> <dest>`: carry a mirror across
// an air gap as rolling .tar.zst volumes, verified and applied atomically on the other side.
import type { CAC } from 'cac';
import { EXIT_FAILURES, EXIT_OK, UsageError } from '../errors.js';
import { makeLogger, runCommand, type GlobalFlags, requireDirectory } from './common.js';

interface BundleFlags extends GlobalFlags {
  out?: string;
  size: string;
  since?: string;
  name?: string;
  level: number;
}

interface UnbundleFlags extends GlobalFlags {
  check?: boolean;
}

export function register(cli: CAC): void {
  cli
    .command('bundle <dest>', 'Write the mirror (or what changed since a run) as rolling .tar.zst volumes')
    .option('--out <dir>', 'Directory for the volumes and the bundle index (required)')
    .option('--size <size>', 'Largest volume, e.g. 8G, 700M (uncompressed tar bytes)', { default: '8G' })
    .option('--since <run>', 'Incremental: only files changed after run RUN, plus deletions since')
    .option('--name <name>', 'Bundle name (default: mirror-<UTC time>)')
    .option('--level <n>', 'zstd compression level 1-19', { default: 3 })
    .action((dest: string, flags: BundleFlags) =>
      runCommand(async () => {
        const log = await makeLogger(flags);
        const { join, resolve } = await import('node:path');
        const { writeBundle } = await import('../features/bundle/bundle.js');
        const { bundleMembers } = await import('../features/bundle/members.js');
        const { parseSize } = await import('./units.js');
        const { formatBytes } = await import('../engine/progress.js');
        const root = await requireDirectory(dest);
        if (!flags.out) throw new UsageError('bundle needs --out DIR');
        const volumeSize = parseSize(String(flags.size));
        if (volumeSize === null || volumeSize < 64 * 1024) throw new UsageError(`--size must be a size of at least 64K (e.g. 8G), not '${flags.size}'`);
        const level = Number(flags.level);
        if (!Number.isInteger(level) || level < 1 || level > 19) throw new UsageError(`--level must be 1-19, not '${flags.level}'`);
        const name = flags.name ?? `mirror-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`--name may hold letters, digits, '.', '_' and '-' only`);
        let since: number | null = null;
        if (flags.since !== undefined) {
          since = Number(flags.since);
          if (!Number.isSafeInteger(since) || since < 0) throw new UsageError(`--since takes a run id, not '${flags.since}'`);
        }

        const members = await bundleMembers(root, since, flags.state);
        const index = await writeBundle({
          root,
          outDir: resolve(flags.out),
          name,
          files: members.files,
          deleted: members.deleted,
          volumeSize,
          level,
          run: members.run,
          since,
          progress: flags.progress !== false,
          log,
        });
        const total = index.volumes.reduce((n, v) => n + v.size, 0);
        process.stdout.write(
          `bundle ${name}: ${index.files} files (${formatBytes(index.bytes)}) in ${index.volumes.length} volume(s) of ${formatBytes(total)}, ` +
            `${index.deleted.length} deletion(s)${index.run !== null ? `, up to run ${index.run}` : ''} -> ${join(resolve(flags.out), `${name}.bundle.json`)}\n`,
        );
        return EXIT_OK;
      }),
    );

  cli
    .command('unbundle <bundle> <dest>', 'Verify a bundle (index file or directory of bundles) and restore it into dest')
    .option('--check', 'Verify everything, change nothing')
    .action((bundle: string, dest: string, flags: UnbundleFlags) =>
      runCommand(async () => {
        const log = await makeLogger(flags);
        const { mkdir } = await import('node:fs/promises');
        const { resolve } = await import('node:path');
        const { applyBundle, BundleError, bundleIndexes } = await import('../features/bundle/bundle.js');
        const { formatBytes } = await import('../engine/progress.js');
        const indexes = await bundleIndexes(resolve(bundle));
        const root = resolve(dest);
        await mkdir(root, { recursive: true });
        for (const file of indexes) {
          try {
            const r = await applyBundle(file, { dest: root, checkOnly: flags.check, progress: flags.progress !== false, log });
            process.stdout.write(`${flags.check ? 'verified' : 'restored'} ${r.name}: ${r.files} files (${formatBytes(r.bytes)}), ${r.deleted} deletion(s)\n`);
          } catch (err) {
            if (!(err instanceof BundleError)) throw err;
            process.stderr.write(`mirror: ${err.message}; nothing from this bundle was applied\n`);
            return EXIT_FAILURES;
          }
        }
        return EXIT_OK;
      }),
    );
}
