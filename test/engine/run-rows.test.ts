// The run rows of gc and `verify --repair`: like a sync's, they name the mirror's source and
// upstream (no placeholders), and carry their counts and outcome.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { ListUpstream } from '../../fixtures/list-upstream.js';

let up: ListUpstream;
let dest: string;

beforeEach(async () => {
  up = await ListUpstream.start(20);
  dest = join(up.work, 'mirror');
});
afterEach(async () => {
  await up.close();
});

const sync = (...extra: string[]) => runCli(['sync', 'list', up.listFile, dest, '--checksums', up.sumsFile, '--no-progress', ...extra]);

function runs(): Record<string, unknown>[] {
  const db = new Database(join(dest, '.mirror', 'state.db'), { readonly: true });
  try {
    return db.prepare('SELECT command, source, upstream, outcome, downloaded, deleted, failed, ended_at FROM runs ORDER BY id').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

describe('run rows', () => {
  it('records gc and repair runs under the mirror source and upstream, with their counts', async () => {
    expect((await sync()).code).toBe(0);
    const [gone] = [...up.files.keys()];
    rmSync(up.mirrorPath(dest, gone));
    const repaired = await runCli(['verify', dest, '--repair', '--no-progress']);
    expect(repaired.code, repaired.stderr).toBe(0);

    const doomed = [...up.files.keys()].slice(0, 5);
    const list = readFileSync(up.listFile, 'utf8').split('\n');
    writeFileSync(up.listFile, list.filter((line) => !doomed.some((path) => line.endsWith(`/${path}`))).join('\n'));
    expect((await sync('--max-delete', '1')).code).toBe(1);
    const gc = await runCli(['gc', dest, '--force']);
    expect(gc.code, gc.stderr).toBe(0);

    const [, repair, , collect] = runs();
    expect(repair).toMatchObject({ command: 'repair', source: 'list', upstream: up.listFile, outcome: 'success', downloaded: 1, failed: 0 });
    expect(collect).toMatchObject({ command: 'gc', source: 'list', upstream: up.listFile, outcome: 'success', deleted: 5 });
    expect(repair.ended_at).toEqual(expect.any(Number));
    expect(collect.ended_at).toEqual(expect.any(Number));
  });
});
