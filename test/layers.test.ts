// The layer rules (.dependency-cruiser.cjs) hold for src/ and migrations/: every import goes
// down the layers cli → commands → features → engine → {http, state, sources, storage} → model,
// the four in the middle do not import each other, and there is no import cycle. The rules
// are also run on a small tree with one backward import and one cycle, to show they catch both.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const depcruise = join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

function checkLayers(cwd: string, paths: string[]) {
  const r = spawnSync(process.execPath, [depcruise, ...paths, '--config', join(repo, '.dependency-cruiser.cjs'), '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { code: r.status, report: `${r.stdout}${r.stderr}` };
}

describe('layers', () => {
  it('src/ and migrations/ import only downwards, with no cycle', () => {
    const { code, report } = checkLayers(repo, ['src', 'migrations']);
    expect(report).not.toMatch(/error/);
    expect(code, report).toBe(0);
  });

  it('the rules catch a backward import and a cycle', () => {
    const root = mkdtempSync(join(tmpdir(), 'mirror-layers-'));
    try {
      const files: Record<string, string> = {
        'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
        'src/engine/run.ts': "import { flag } from '../commands/flags.js';\nexport const run = flag;\n",
        'src/commands/flags.ts': 'export const flag = 1;\n',
        'src/http/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
        'src/http/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      }
      const { code, report } = checkLayers(root, ['src']);
      expect(code).not.toBe(0);
      expect(report).toMatch(/engine-not-to-commands: src\/engine\/run\.ts → src\/commands\/flags\.ts/);
      expect(report.replace(/\s+/g, ' ')).toMatch(/no-cycle: src\/http\/(a|b)\.ts → src\/http\/(b|a)\.ts → src\/http\/\1\.ts/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
