// Bundles the compiled CLI (dist/src, from tsc) into dist/bundle/ with esbuild, so that a
// command starts from a few files instead of resolving and compiling hundreds of modules.
// bin/mirror.js runs the bundle when it is at least as new as dist/src/cli.js, else dist/src.
//
// - Code splitting keeps every `await import()` of the sources a separate chunk: a command
//   loads only what it uses.
// - `undici` resolves to the dispatcher classes src/ imports from it (Agent, Pool...), each
//   from its own module: the package's index also loads fetch, WebSocket, cookies and caches
//   (and, through them, Node's own copy of undici). Any other name comes from the full package
//   (correct, slower to start; the build says so).
// - `import.meta.url` in a module keeps naming that module's own file under dist/src, so that
//   worker scripts (new URL('./x-worker.js', import.meta.url)) and package.json are found.
// - Native addons and pino-pretty (required at run time, when a line is first logged) stay
//   in node_modules.
// For profiling: BUNDLE_NOMINIFY=1 keeps the names readable; BUNDLE_META=FILE writes esbuild's
// metafile (what each chunk holds, and from where).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(repo, 'dist', 'bundle');

/** The names the compiled sources import from 'undici'; null when one imports it otherwise (import *, default). */
async function undiciImports() {
  const names = new Set();
  for (const entry of await readdir(join(repo, 'dist', 'src'), { recursive: true })) {
    if (!entry.endsWith('.js')) continue;
    const text = await readFile(join(repo, 'dist', 'src', entry), 'utf8');
    for (const m of text.matchAll(/import\s+([^;]*?)\s+from\s+['"]undici['"]/g)) {
      const named = /^\{([^}]*)\}$/.exec(m[1].trim());
      if (!named) return null;
      for (const part of named[1].split(',')) if (part.trim()) names.add(part.trim());
    }
  }
  return names;
}

const dispatcherModule = (name) => `undici/lib/dispatcher/${name.replace(/(?<!^)[A-Z]/g, (c) => `-${c}`).toLowerCase()}.js`;

const undiciDispatchers = (names) => ({
  name: 'undici-dispatchers',
  setup(b) {
    if (names === null) return;
    b.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', namespace: 'undici-dispatchers' }));
    b.onLoad({ filter: /.*/, namespace: 'undici-dispatchers' }, () => {
      const lines = [];
      for (const spec of names) {
        const [name, alias = name] = spec.split(/\s+as\s+/);
        const own = dispatcherModule(name);
        if (/^[A-Z]\w*$/.test(name) && existsSync(join(repo, 'node_modules', own))) {
          lines.push(`export { default as ${alias} } from '${own}';`);
        } else {
          process.stderr.write(`bundle: undici's ${name} comes from the whole package (slower start)\n`);
          lines.push(`export { ${name} as ${alias} } from 'undici/index.js';`);
        }
      }
      return { resolveDir: repo, contents: lines.join('\n') };
    });
  },
});

const ownFileUrls = {
  name: 'own-file-urls',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/](src|migrations)[\\/].*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(outdir, args.path).split('\\').join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'js' };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { cli: join(repo, 'dist', 'src', 'cli.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: !process.env.BUNDLE_NOMINIFY,
  external: ['better-sqlite3', 'zstd-napi'],
  // CommonJS dependencies call require() for Node's built-in modules.
  banner: { js: "import { createRequire as __mirrorRequire } from 'node:module'; const require = __mirrorRequire(import.meta.url);" },
  plugins: [undiciDispatchers(await undiciImports()), ownFileUrls],
  logLevel: 'warning',
  metafile: true,
});
if (process.env.BUNDLE_META) await writeFile(process.env.BUNDLE_META, JSON.stringify(result.metafile));
