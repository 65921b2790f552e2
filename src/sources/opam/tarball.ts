// An opam repository's `index.tar.gz`: reading upstream's, writing the mirror's.
//
// Reading yields the regular files of a gzip-compressed tar, one at a time with their content
// (directories are implied; links, devices and anything else are reported by name through
// `onOther` and never followed). A member larger than MAX_MEMBER_BYTES, a truncated or corrupt
// stream throws: the caller must treat the whole index as unreadable. Names are returned as
// written (a leading `./` removed) and must still be checked by the caller.
// Writing produces a deterministic tarball (fixed owner, mode 0644, the given mtimes), so that
// the same published tree always gives the same bytes.
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';

/** No opam file or patch comes near this; a bigger member means a hostile or broken index. */
export const MAX_MEMBER_BYTES = 64 * 1024 * 1024;

export interface TarMember {
  path: string;
  mtime: Date;
  content: Buffer;
}

/** Regular files of the gzip'd tarball `file`, in archive order. */
export async function* readTarball(file: string, onOther: (path: string, type: string) => void): AsyncGenerator<TarMember> {
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(file), createGunzip(), extract);
  // A gzip or read error ends the iteration below with that error instead of a bare "premature close".
  let feedError: unknown = null;
  feeding.catch((err: unknown) => {
    feedError = err;
    extract.destroy(err as Error);
  });
  try {
    for await (const entry of extract) {
      const { header } = entry;
      const path = header.name.replace(/^(\.\/)+/, '');
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        if (header.type !== 'directory') onOther(path, header.type);
        entry.resume();
        continue;
      }
      if (header.size > MAX_MEMBER_BYTES) throw new Error(`member ${JSON.stringify(path.slice(0, 200))} is ${header.size} bytes (limit ${MAX_MEMBER_BYTES})`);
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      yield { path, mtime: header.mtime, content: Buffer.concat(chunks) };
    }
    await feeding;
  } catch (err) {
    throw feedError ?? err;
  } finally {
    extract.destroy();
  }
}

/** Writes `members` into a new gzip'd tarball at `file`. */
export async function writeTarball(file: string, members: AsyncIterable<TarMember> | Iterable<TarMember>): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, createGzip({ level: 6 }), createWriteStream(file));
  try {
    for await (const m of members) {
      await new Promise<void>((resolve, reject) => {
        pack.entry({ name: m.path, size: m.content.length, mtime: m.mtime, mode: 0o644, type: 'file', uid: 0, gid: 0, uname: 'root', gname: 'root' }, m.content, (err) =>
          err ? reject(err) : resolve(),
        );
      });
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
  }
  await written;
}
