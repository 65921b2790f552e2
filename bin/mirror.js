#!/usr/bin/env node
// File writes, fsyncs and renames run on libuv's thread pool; 4 threads (the default) starve a
// mirror run that places thousands of small files. Must be set before the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '16';
await import('../dist/src/cli.js');
