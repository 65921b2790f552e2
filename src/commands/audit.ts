// `mirror verify <dest>`, `mirror gc <dest>` and `mirror status <dest>`: commands that work on
// an existing mirror and its state DB, without an upstream.
import type { CAC } from 'cac';
import type { MirrorSession } from '../engine/session.js';
import { existsSync } from 'node:fs';
import { EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, UsageError } from '../errors.js';
import { interruptSignal, keepBaselineWasm, makeLogger, networkFlags, runCommand, type GlobalFlags } from './common.js';

interface AuditFlags extends GlobalFlags {
  hash?: boolean;
  repair?: boolean;
  json?: boolean;
  dryRun?: boolean;
  force?: boolean;
  maxDelete?: string | number;
}

/**
 * Runs `body` in a session on an existing mirror: lock taken, state DB open and bound to this
 * mirror; then, whatever happened, status.json refreshed (repairs and deletions change the
 * size), the DB closed and the lock released.
 */
async function withMirror<T>(
  dest: string,
  flags: GlobalFlags,
  how: { command: string; scratch?: boolean },
  body: (session: MirrorSession) => Promise<T>,
): Promise<T> {
  const { MirrorSession } = await import('../engine/session.js');
  const session = await MirrorSession.open({ dest, statePath: flags.state, existing: true, ...how });
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}

export function register(cli: CAC): void {
  cli
    .command('verify <dest>', 'Audit the mirror against the state DB (size+mtime; --hash re-hashes everything)')
    .option('--hash', 'Re-hash every file (all cores)')
    .option('--repair', 'Re-download missing or corrupt files (never deletes)')
    .option('--json', 'Print the report as JSON')
    .action((dest: string, flags: AuditFlags) =>
      runCommand(async () => {
        await keepBaselineWasm();
        const log = await makeLogger(flags);
        const { verifyMirror } = await import('../engine/verify.js');
        const signal = interruptSignal(log);
        return withMirror(dest, flags, { command: 'verify', scratch: true }, async (session) => {
          const report = await verifyMirror({
            session,
            hashAll: flags.hash === true,
            repair: flags.repair === true,
            log,
            progress: flags.progress !== false,
            signal,
            network: networkFlags(flags),
          });
          if (flags.json) {
            process.stdout.write(JSON.stringify(report, null, 2) + '\n');
          } else {
            for (const step of report.steps) {
              const repaired = step.repaired !== undefined ? `, ${step.repaired} repaired` : '';
              process.stdout.write(`${step.name.padEnd(10)} checked ${step.checked}, problems ${step.problems}${repaired}\n`);
            }
            for (const p of report.problems.slice(0, 100)) process.stdout.write(`  ${p.kind.padEnd(10)} ${p.path}: ${p.detail}\n`);
            if (report.problems.length > 100) process.stdout.write(`  … and ${report.problems.length - 100} more (use --json)\n`);
            process.stdout.write(report.ok ? 'verify: ok\n' : 'verify: PROBLEMS FOUND\n');
          }
          if (signal.aborted) return EXIT_INTERRUPTED;
          return report.ok ? EXIT_OK : EXIT_FAILURES;
        });
      }),
    );

  cli
    .command('gc <dest>', "Delete files an earlier sync left as stale (it refused to under --max-delete)")
    .option('--dry-run', 'Only list what would be deleted')
    .option('--force', 'Delete beyond --max-delete')
    .option('--max-delete <limit>', 'Refuse to delete more than this many files (500) or share of the mirror (10%)', { default: '10%' })
    .action((dest: string, flags: AuditFlags) =>
      runCommand(async () => {
        const log = await makeLogger(flags);
        const { collectStale } = await import('../engine/gc.js');
        const { parseMaxDelete } = await import('../engine/collect.js');
        const { formatBytes } = await import('../engine/progress.js');
        return withMirror(dest, flags, { command: 'gc' }, async (session) => {
          const result = await collectStale({
            session,
            dryRun: flags.dryRun === true,
            force: flags.force === true,
            maxDelete: parseMaxDelete(flags.maxDelete),
            log,
            onStale: (path) => process.stdout.write(`would delete ${path}\n`),
          });
          if (flags.dryRun) {
            process.stdout.write(`${result.staleFiles} stale file(s), ${formatBytes(result.staleBytes)}\n`);
            return EXIT_OK;
          }
          process.stdout.write(`deleted ${result.deleted} file(s), ${formatBytes(result.bytes)}\n`);
          if (result.refused) process.stdout.write(`${result.refused}\n`);
          if (result.failed) process.stdout.write(`${result.failed} file(s) could not be deleted (see log)\n`);
          return result.refused || result.failed ? EXIT_FAILURES : EXIT_OK;
        });
      }),
    );

  cli
    .command('status [...args]', 'Show the last run, size and health: status <dest>, or status --config mirror.toml [JOB...]')
    .option('--json', 'Print as JSON (the fields of .mirror/status.json)')
    .option('--config <file>', 'A table of every job of a mirror.toml (or the JOB names given)')
    .action((args: string[], flags: AuditFlags & { config?: string }) =>
      runCommand(async () => {
        if (flags.config !== undefined) {
          const { statusFromConfig } = await import('./status-config.js');
          return statusFromConfig(String(flags.config), args, flags.json === true);
        }
        if (args.length !== 1) throw new UsageError('usage: mirror status <dest> (or mirror status --config mirror.toml [JOB...])');
        const [dest] = args;
        const { layoutFor } = await import('../engine/layout.js');
        const { openStateDb } = await import('../state/db.js');
        const { readStatusFromDb } = await import('../engine/status.js');
        const { formatBytes } = await import('../engine/progress.js');
        const { basename } = await import('node:path');
        const layout = layoutFor(dest, flags.state);
        if (!existsSync(layout.statePath)) throw new UsageError(`${dest} is not a mirror (no ${layout.statePath})`);
        const state = await openStateDb(layout.statePath, { readonly: true });
        try {
          const status = await readStatusFromDb(state, basename(layout.dest));
          if (flags.json) {
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
      }),
    );
}
