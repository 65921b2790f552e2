// The User-Agent every request carries: "mirror/<version>", plus "(+<contact>)" when the
// operator gave one with --contact (some registries refuse anonymous bulk clients).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageVersion(): string {
  // Works from src/http (tests run TypeScript directly) and from dist/src/http alike.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mirror' && pkg.version) return pkg.version;
    } catch {
      // keep walking up
    }
  }
  return '0.0.0';
}

export const MIRROR_VERSION = packageVersion();

export function buildUserAgent(contact?: string): string {
  const clean = contact?.replace(/[\r\n()]/g, '').trim();
  return clean ? `mirror/${MIRROR_VERSION} (+${clean})` : `mirror/${MIRROR_VERSION}`;
}
