// `mirror status --config mirror.toml [JOB...]`: one table row per job, read from each job's
// `<dest>/.mirror/status.json` (written by every run: syncing at the start, the outcome at the
// end). Exit 1 when any job's last run failed.
import { EXIT_FAILURES, EXIT_OK } from '../errors.js';

export async function statusFromConfig(file: string, names: string[], json: boolean): Promise<number> {
  const { loadConfig, selectJobs } = await import('../features/config/config.js');
  const { findSource } = await import('../sources/index.js');
  const { layoutFor } = await import('../engine/layout.js');
  const { readStatusFile } = await import('../engine/status.js');
  const { formatBytes } = await import('../engine/progress.js');
  const config = await loadConfig(file, findSource);
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
