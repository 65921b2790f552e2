// Worker-thread entry: runs scanSubdir (parse, validate, filter, rewrite) off the main thread,
// so repodata parsing overlaps with the engine recording entries in SQLite on the main thread.
// Protocol (to the parent): {type:'blobs', rows:[path,url,size,algo,hex, ...]} in batches,
// {type:'problem', message}, {type:'need-current'} (answered with CurrentFiles | null),
// then {type:'done', outcome} or {type:'error', message, format}.
import { parentPort, workerData } from 'node:worker_threads';
import { RepodataFormatError } from './repodata-scanner.js';
import { scanSubdir, type CurrentFiles, type ScanJob } from './subdir-scan.js';

export type ScanWorkerMessage =
  | { type: 'blobs'; rows: Array<string | number> }
  | { type: 'problem'; message: string }
  | { type: 'need-current' }
  | { type: 'done'; outcome: Awaited<ReturnType<typeof scanSubdir>> }
  | { type: 'error'; message: string; format: boolean };

const BATCH_FIELDS = 5 * 4096;
const port = parentPort!;
const post = (m: ScanWorkerMessage) => port.postMessage(m);
let rows: Array<string | number> = [];
const flush = () => {
  if (rows.length === 0) return;
  post({ type: 'blobs', rows });
  rows = [];
};

scanSubdir(workerData as ScanJob, {
  blob(path, url, size, algo, hex) {
    rows.push(path, url, size, algo, hex);
    if (rows.length >= BATCH_FIELDS) flush();
  },
  problem(message) {
    flush();
    post({ type: 'problem', message });
  },
  currentFiles() {
    flush();
    return new Promise<CurrentFiles | null>((resolve) => {
      port.once('message', (files: CurrentFiles | null) => resolve(files));
      post({ type: 'need-current' });
    });
  },
}).then(
  (outcome) => {
    flush();
    post({ type: 'done', outcome });
  },
  (err: Error) => {
    flush();
    post({ type: 'error', message: err.message, format: err instanceof RepodataFormatError });
  },
);
