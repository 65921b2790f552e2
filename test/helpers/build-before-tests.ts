// vitest global setup: the tests drive the real CLI (bin/mirror.js runs dist/), so dist/ must
// be built from the sources under test. Before any test file runs, `npm run build` runs when
// anything the build reads (src/, migrations/, package.json, tsconfig.json, bin/bundle.mjs)
// is newer than the bundle it writes last (dist/bundle/cli.js), or when there is no build. A
// failed build fails the run. The tests themselves run from TypeScript, so editing a test
// does not rebuild.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const INPUTS = ['src', 'migrations', 'package.json', 'tsconfig.json', 'bin/bundle.mjs'];
const LAST_OUTPUT = 'dist/bundle/cli.js';

/** The newest modification time of a file, or of any file under a directory. */
function newestMtime(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a deleted file shows as the directory's change
  for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() || entry.isDirectory()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Why dist/ must be rebuilt, or null when it is newer than everything it is built from. */
export function staleReason(root = repo): string | null {
  const builtAt = statSync(join(root, LAST_OUTPUT), { throwIfNoEntry: false })?.mtimeMs;
  if (builtAt === undefined) return `${LAST_OUTPUT} does not exist`;
  for (const input of INPUTS) if (newestMtime(join(root, input)) > builtAt) return `${input} changed since the last build`;
  return null;
}

export default function setup(): void {
  const reason = staleReason();
  if (reason === null) return;
  process.stderr.write(`building dist/ first: ${reason}\n`);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
  const after = staleReason();
  if (after !== null) throw new Error(`dist/ is still stale after 'npm run build': ${after}`);
}
