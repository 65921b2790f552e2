// syncFilesystem: one long-lived shell runs `sync -f`; a failure is reported for that call only.
import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { syncFilesystem } from '../src/engine/durable.js';

describe('syncFilesystem', () => {
  it('syncs, reports a bad path clearly, and keeps working afterwards', async () => {
    await syncFilesystem(tmpdir());
    await expect(syncFilesystem('/nonexistent/mirror-test')).rejects.toThrow(/cannot sync the filesystem of \/nonexistent\/mirror-test: /);
    await Promise.all([syncFilesystem(tmpdir()), syncFilesystem(tmpdir())]);
    await syncFilesystem(`${tmpdir()}/with\nnewline/..`).catch((e: Error) => expect(e.message).toMatch(/cannot sync/));
  });
});
