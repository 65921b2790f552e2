// `mirror status <dest> [--json]`: the last run, size and health of one mirror, read from its
// state DB; `mirror status --config mirror.toml [JOB...]`: one table row per job, read from each
// job's `<dest>/.mirror/status.json` (written by every run: syncing at the start, the outcome
// at the end). Exit 1 when the (or any) last run failed.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { EXIT_FAILURES, EXIT_OK, UsageError } from '../errors.js';
import { layoutFor } from '../engine/layout.js';
import { readStatusFile, readStatusFromDb } from '../engine/status.js';
import { formatBytes } from '../engine/progress.js';
import { openStateDb } from '../state/db.js';
import { findSource } from '../sources/index.js';
import { loadConfig, selectJobs } from '../features/config/config.js';
import { configSchema } from './flags.js';
import { resolveFlags, type ParsedFlags } from './run-options.js';

export async function run(args: string[], parsed: ParsedFlags): Promise<number> {
  const flags = resolveFlags('status', parsed);
  const json = flags.json === true;
  if (flags.config !== undefined) return statusFromConfig(String(flags.config), args, json);
  if (args.length !== 1) throw new UsageError('usage: mirror status <dest> (or mirror status --config mirror.toml [JOB...])');
  const [dest] = args;
  const layout = layoutFor(dest, flags.state as string | undefined);
  if (!existsSync(layout.statePath)) throw new UsageError(`${dest} is not a mirror (no ${layout.statePath})`);
  const state = await openStateDb(layout.statePath, { readonly: true });
  try {
    const status = await readStatusFromDb(state, basename(layout.dest));
    if (json) {
      process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    } else {
      const lines = [
        ['name', status.name],
        ['status', status.status],
        ['upstream', status.upstream ?? '-'],
        ['last success', status.last_update ?? 'never'],
        ['last started', status.last_started ?? '-'],
        ['last ended', status.last_ended ?? '-'],
        ['size', `${status.size.files} files, ${formatBytes(status.size.bytes)}`],
        ['error', status.error_msg ?? '-'],
      ];
      for (const [k, v] of lines) process.stdout.write(`${k.padEnd(13)} ${v}\n`);
    }
    return status.status === 'failed' ? EXIT_FAILURES : EXIT_OK;
  } finally {
    await state.close();
  }
}

async function statusFromConfig(file: string, names: string[], json: boolean): Promise<number> {
  const config = await loadConfig(file, configSchema(findSource));
  const rows = selectJobs(config, names).map((job) => {
    const status = readStatusFile(layoutFor(job.dest).statusFile);
    return {
      name: job.name,
      status: status?.status ?? 'never',
      last_update: status?.last_update ?? null,
      last_started: status?.last_started ?? null,
      last_ended: status?.last_ended ?? null,
      upstream: status?.upstream ?? job.upstream,
      size: status?.size ?? { bytes: 0, files: 0 },
      error_msg: status?.error_msg ?? null,
      dest: job.dest,
    };
  });
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  } else {
    const table = [
      ['JOB', 'STATUS', 'LAST SUCCESS', 'LAST ENDED', 'FILES', 'SIZE', 'ERROR'],
      ...rows.map((r) => [
        r.name,
        r.status,
        r.last_update ?? 'never',
        r.last_ended ?? '-',
        String(r.size.files),
        formatBytes(r.size.bytes),
        r.error_msg ? r.error_msg.replace(/\s+/g, ' ').slice(0, 60) : '-',
      ]),
    ];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    for (const row of table) process.stdout.write(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ') + '\n');
  }
  return rows.some((r) => r.status === 'failed') ? EXIT_FAILURES : EXIT_OK;
}
