// The engine's discover stage with index entries that carry a size instead of a staged file:
// accepted in a dry run (the size is what the plan counts), rejected with a reason in a real run.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { discover } from '../../src/engine/discover.js';
import { Downloader } from '../../src/http/downloader.js';
import { openStateDb } from '../../src/state/db.js';
import { sqliteHandle } from '../../src/state/sqlite/index.js';
import type { Entry, Source } from '../../src/sources/types.js';

const log = pino({ level: 'silent' });

function sourceEmitting(entries: (stagingDir: string) => Entry[]): Source {
  return {
    kind: 'test',
    summary: 'emits fixed entries',
    options: [],
    async discover(_upstream, ctx) {
      for (const e of entries(ctx.stagingDir)) ctx.emit(e);
      return { mode: 'full', cursor: null };
    },
  };
}

describe('discover: index entries in a dry run', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'discover-dry-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  async function run(source: Source, dryRun?: boolean) {
    const state = await openStateDb(join(tmp, 'state.db'));
    const downloader = new Downloader({ concurrency: 1, userAgent: 'test', log });
    try {
      const outcome = await discover({
        source,
        upstream: 'x',
        state,
        stagingDir: tmp,
        dest: join(tmp, 'dest'),
        cursor: null,
        options: {},
        downloader,
        log,
        signal: new AbortController().signal,
        ...(dryRun === undefined ? {} : { dryRun }),
      });
      const rows = sqliteHandle(state).prepare(`SELECT path, size, staged, stage FROM temp.incoming WHERE kind = 'index' ORDER BY path`).all();
      return { ...outcome, rows };
    } finally {
      await downloader.close();
      await state.close();
    }
  }

  const sizedOnly = sourceEmitting((dir) => {
    writeFileSync(join(dir, 'staged'), 'twelve bytes');
    return [
      { kind: 'index', path: 'a', size: 42, stage: 0 },
      { kind: 'index', path: 'b', stagedFile: join(dir, 'staged'), size: 999, stage: 1 },
      { kind: 'index', path: 'c', stage: 0 },
      { kind: 'index', path: 'd', size: -1, stage: 0 },
    ];
  });

  it('takes the size when nothing was staged, the staged file size otherwise', async () => {
    const r = await run(sizedOnly, true);
    expect(r.rows).toEqual([
      { path: 'a', size: 42, staged: null, stage: 0 },
      { path: 'b', size: 12, staged: join(tmp, 'staged'), stage: 1 },
    ]);
    expect(r.rejected).toBe(2);
    expect(r.problems).toEqual([
      "rejected index 'c': neither a staged file nor a valid size (size 'undefined')",
      "rejected index 'd': neither a staged file nor a valid size (size '-1')",
    ]);
  });

  it('rejects an index entry without a staged file in a real run (the default)', async () => {
    const r = await run(sizedOnly);
    expect(r.rows).toEqual([{ path: 'b', size: 12, staged: join(tmp, 'staged'), stage: 1 }]);
    expect(r.rejected).toBe(3);
    expect(r.problems[0]).toBe("rejected index 'a': the adapter staged no file for it (only a dry run may give a size alone)");
  });
});
