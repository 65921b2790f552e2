#!/usr/bin/env node
// File writes, fsyncs and renames run on libuv's thread pool; 4 threads (the default) starve a
// mirror run that places thousands of small files. Must be set before the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '16';
// The bundle (bin/bundle.mjs, built by `npm run build` / `npm test`) starts faster; a
// bundle older than the compiled sources (tsc ran since) is stale and not used.
const { statSync } = await import('node:fs');
const builtAt = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundled = builtAt('../dist/bundle/cli.js') >= builtAt('../dist/src/cli.js');
await import(bundled ? '../dist/bundle/cli.js' : '../dist/src/cli.js');
