// `mirror demo`: starts a fixture upstream on 127.0.0.1, mirrors it into ./demo-mirror with
// the `list` source (plan, progress, summary), verifies the result, and says what to look at.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT_OK } from '../errors.js';
import { makeCorpus, serveCorpus, writeListFiles } from '../demo/fixture-upstream.js';
import { runSync } from '../engine/sync.js';
import { planOnly } from '../engine/dry-run.js';
import { verifyMirror } from '../engine/verify.js';
import { MirrorSession } from '../engine/session.js';
import { formatBytes } from '../engine/progress.js';
import { interruptSignal, keepBaselineWasm, makeLogger } from './common.js';
import { jobRunOptions, resolveFlags, type ParsedFlags } from './run-options.js';

/** A fixed port keeps the mirrored paths (<host:port>/...) the same from one demo to the next. */
const DEMO_PORT = 47321;

export async function run(_args: string[], parsed: ParsedFlags): Promise<number> {
  keepBaselineWasm();
  const flags = resolveFlags('demo', parsed);
  const log = makeLogger(flags);
  const dest = resolve(String(flags.dest));
  const signal = interruptSignal(log);
  const corpus = makeCorpus(Number(flags.files), 42);
  // The demo syncs as `mirror sync` would with the same global flags.
  const syncDefaults = jobRunOptions(resolveFlags('sync', parsed));
  const upstream = await serveCorpus(corpus, DEMO_PORT);
  const work = mkdtempSync(join(tmpdir(), 'mirror-demo-'));
  const say = (text: string) => process.stdout.write(`${text}\n`);
  try {
    const { listFile, sumsFile } = writeListFiles(work, upstream.url, corpus);
    say(`1. A fixture upstream is serving ${corpus.length} files at ${upstream.url}`);
    say(`   (the list of URLs is ${listFile}, their sha256 sums ${sumsFile})\n`);
    const sourceOptions = { checksums: sumsFile };
    const dry = await planOnly({ kind: 'list', upstream: listFile, dest, sourceOptions, concurrency: 'auto', log, signal });
    say(`2. mirror plan list ${listFile} ${dest}`);
    say(`   download ${dry.plan.download.files} files (${formatBytes(dry.plan.download.bytes)}), keep ${dry.plan.keep.files}, delete ${dry.plan.delete.files}\n`);
    say(`3. mirror sync list ${listFile} ${dest} --checksums ${sumsFile}`);
    const summary = await runSync({
      kind: 'list',
      upstream: listFile,
      dest,
      sourceOptions,
      ...syncDefaults,
      log,
      progress: flags.progress === true,
      signal,
    });
    const secs = (summary.endedAt - summary.startedAt) / 1000;
    say(
      `   ${summary.outcome}: downloaded ${summary.counts.downloaded} files (${formatBytes(summary.bytesDownloaded)}) in ${secs.toFixed(2)}s, ` +
        `kept ${summary.counts.kept}, failed ${summary.counts.failed}\n`,
    );
    say(`4. mirror verify ${dest} --hash`);
    const session = await MirrorSession.open({ dest, command: 'verify', existing: true });
    try {
      const report = await verifyMirror({ session, hashAll: true, repair: false, log, progress: false, signal, network: { concurrency: 'auto' } });
      for (const step of report.steps) say(`   ${step.name.padEnd(10)} checked ${step.checked}, problems ${step.problems}`);
      say(`   ${report.ok ? 'ok' : 'PROBLEMS FOUND'}\n`);
    } finally {
      await session.close();
    }
    say(`Look at it:`);
    say(`   ls ${dest}/${new URL(upstream.url).host}/pool/00 | head      # the mirrored files`);
    say(`   node bin/mirror.js status ${dest}                   # last run, size, health`);
    say(`   node bin/mirror.js verify ${dest} --hash            # re-hash everything`);
    say(`   node bin/mirror.js demo                             # again: nothing is downloaded twice`);
    say(`(the fixture upstream stops when the demo ends; the mirror stays in ${dest})`);
    return summary.exitCode === 0 ? EXIT_OK : summary.exitCode;
  } finally {
    await upstream.close();
    rmSync(work, { recursive: true, force: true });
  }
}
