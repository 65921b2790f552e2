// Reads a directory tree into {relative path -> bytes} (skipping the private .mirror/) so tests
// can compare mirrors byte for byte.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function readTree(root: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (path === '.mirror') continue;
    if (e.isDirectory()) for (const [p, b] of readTree(root, path)) out.set(p, b);
    else out.set(path, readFileSync(join(root, path)));
  }
  return out;
}

export function expectSameTree(a: Map<string, Buffer>, b: Map<string, Buffer>): string[] {
  const problems: string[] = [];
  for (const [p, buf] of a) if (!b.get(p)?.equals(buf)) problems.push(`differs or missing: ${p}`);
  for (const p of b.keys()) if (!a.has(p)) problems.push(`extra: ${p}`);
  return problems;
}
