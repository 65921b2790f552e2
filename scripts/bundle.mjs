// Bundles the compiled CLI (dist/src, from tsc) into dist/bundle/ with esbuild, so that a
// command starts from a few files instead of resolving and compiling hundreds of modules.
// bin/mirror.js runs the bundle when it is at least as new as dist/src/cli.js, else dist/src.
//
// - Code splitting keeps every `await import()` of the sources a separate chunk: a command
//   loads only what it uses.
// - `undici` resolves to its four dispatcher classes (all that src/http imports from it at run
//   time); the package's index also loads fetch, WebSocket, cookies and caches (and, through
//   them, Node's own copy of undici). A new import from 'undici' fails this build, loudly.
// - `import.meta.url` in a module keeps naming that module's own file under dist/src, so that
//   worker scripts (new URL('./x-worker.js', import.meta.url)) and package.json are found.
// - Native addons and pino-pretty (required at run time, when a line is first logged) stay
//   in node_modules.
import { build } from 'esbuild';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(repo, 'dist', 'bundle');

const undiciDispatchers = {
  name: 'undici-dispatchers',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', namespace: 'undici-dispatchers' }));
    b.onLoad({ filter: /.*/, namespace: 'undici-dispatchers' }, () => ({
      resolveDir: repo,
      contents: ['Agent', 'Client', 'EnvHttpProxyAgent', 'Pool']
        .map((name) => `export { default as ${name} } from 'undici/lib/dispatcher/${name.replace(/(?<!^)[A-Z]/g, (c) => `-${c}`).toLowerCase()}.js';`)
        .join('\n'),
    }));
  },
};

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
  plugins: [undiciDispatchers, ownFileUrls],
  logLevel: 'warning',
  metafile: true,
});
if (process.env.BUNDLE_META) await writeFile(process.env.BUNDLE_META, JSON.stringify(result.metafile));
