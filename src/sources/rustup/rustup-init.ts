// rustup itself (--rustup-init): what RUSTUP_UPDATE_ROOT=<mirror>/rustup and rustup-init.sh read.
//
// Contract: for the release named by `rustup/release-stable.toml` and each selected host triple,
// emits `rustup/dist/<triple>/rustup-init[.exe]` and `rustup/archive/<version>/<triple>/rustup-init[.exe]`
// as blobs verified against upstream's `.sha256` next to each (published as index files with
// the binaries), and `rustup/release-stable.toml` itself last (HEAD_STAGE), so a client that
// reads the new version finds its binary. A triple upstream has no rustup-init for is skipped
// with a log line (Rust builds rustup for fewer triples than rustc).
import type { DiscoverContext } from '../types.js';
import { HEAD_STAGE, SIDECAR_STAGE } from './release.js';
import type { DistUpstream } from './upstream.js';

export async function mirrorRustupInit(ctx: DiscoverContext, up: DistUpstream, version: string, triples: string[]): Promise<void> {
  for (const triple of triples.sort()) {
    const exe = triple.includes('-windows') ? 'rustup-init.exe' : 'rustup-init';
    for (const path of [`rustup/dist/${triple}/${exe}`, `rustup/archive/${version}/${triple}/${exe}`]) {
      const sha = await up.sha(path, true);
      if (!sha) {
        ctx.log.info({ path }, 'rustup: upstream has no rustup-init here; skipped');
        continue;
      }
      ctx.emit({ kind: 'blob', path, url: up.url(path), checksums: { sha256: sha } });
      ctx.emit({ kind: 'index', path: `${path}.sha256`, stagedFile: up.staged(`${path}.sha256`), stage: SIDECAR_STAGE });
    }
  }
  ctx.emit({ kind: 'index', path: 'rustup/release-stable.toml', stagedFile: up.staged('rustup/release-stable.toml'), stage: HEAD_STAGE });
}
