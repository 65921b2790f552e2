// `mirror bundle <dest> --out DIR`: the mirror (or what changed since a run) as rolling .tar.zst
// volumes and an index, to carry across an air gap (`mirror unbundle` on the other side).
import { join, resolve } from 'node:path';
import { EXIT_OK, UsageError } from '../errors.js';
import { formatBytes } from '../engine/progress.js';
import { writeBundle } from '../features/bundle/bundle.js';
import { bundleMembers } from '../features/bundle/members.js';
import { makeLogger, requireDirectory } from './common.js';
import { resolveFlags, type ParsedFlags } from './run-options.js';
import { parseSize } from './units.js';

export async function run([dest]: string[], parsed: ParsedFlags): Promise<number> {
  const flags = resolveFlags('bundle', parsed);
  const log = makeLogger(flags);
  const root = await requireDirectory(dest);
  if (flags.out === undefined) throw new UsageError('bundle needs --out DIR');
  const outDir = resolve(String(flags.out));
  const volumeSize = parseSize(String(flags.size));
  if (volumeSize === null || volumeSize < 64 * 1024) throw new UsageError(`--size must be a size of at least 64K (e.g. 8G), not '${String(flags.size)}'`);
  const level = Number(flags.level);
  if (!Number.isInteger(level) || level < 1 || level > 19) throw new UsageError(`--level must be 1-19, not '${String(flags.level)}'`);
  const name = flags.name === undefined ? `mirror-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}` : String(flags.name);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`--name may hold letters, digits, '.', '_' and '-' only`);
  let since: number | null = null;
  if (flags.since !== undefined) {
    since = Number(flags.since);
    if (!Number.isSafeInteger(since) || since < 0) throw new UsageError(`--since takes a run id, not '${String(flags.since)}'`);
  }

  const members = await bundleMembers(root, since, flags.state as string | undefined);
  const index = await writeBundle({
    root,
    outDir,
    name,
    files: members.files,
    deleted: members.deleted,
    volumeSize,
    level,
    run: members.run,
    since,
    progress: flags.progress === true,
    log,
  });
  const total = index.volumes.reduce((n, v) => n + v.size, 0);
  process.stdout.write(
    `bundle ${name}: ${index.files} files (${formatBytes(index.bytes)}) in ${index.volumes.length} volume(s) of ${formatBytes(total)}, ` +
      `${index.deleted.length} deletion(s)${index.run !== null ? `, up to run ${index.run}` : ''} -> ${join(outDir, `${name}.bundle.json`)}\n`,
  );
  return EXIT_OK;
}
