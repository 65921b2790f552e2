// Scans one subdir's repodata.json, with no engine in reach (it runs in a worker thread, see
// scan-worker.ts): checks every record (filename, size, checksums), applies the name filters
// and --keep-latest, hands each package to mirror to `sink.blob`, and reports rejected records
// to `sink.problem`. When the mirror's content differs from upstream's (filters, a rejected
// record, `info.base_url`) it writes the rewritten repodata.json to `job.rewriteFile` and, once
// `job` can name it, a current_repodata.json filtered to the same files.
// Passes: one in the common case (emit, and write when a rewrite is known up front: filters or
// upstream's info.base_url); with --keep-latest a first pass collects versions and a second
// emits and writes; when a record is rejected without a rewrite planned, a second pass writes
// the rewritten index.
import { rawText, RepodataFormatError, scanRepodata, type PackageSection } from './repodata-scanner.js';
import { RepodataWriter } from './repodata-writer.js';
import { LatestVersions } from './filters.js';
import { nameFilter, type NameFilter } from '../name-filter.js';

const HEX64 = /^[0-9a-fA-F]{64}$/;
const HEX32 = /^[0-9a-fA-F]{32}$/;

export interface ScanJob {
  subdir: string;
  repodataUrl: string;
  /** The staged upstream repodata.json. */
  file: string;
  include: string[];
  exclude: string[];
  keepLatest: number | null;
  /** Where a rewritten repodata.json goes. */
  rewriteFile: string;
}

/** Where upstream's current_repodata.json is staged, and where its filtered copy goes. */
export interface CurrentFiles {
  input: string;
  output: string;
}

export interface ScanSink {
  blob(path: string, url: string, size: number, algo: 'sha256' | 'md5', hex: string): void;
  problem(message: string): void;
  /** Resolves once upstream's current_repodata.json is staged (null: upstream has none). */
  currentFiles(): Promise<CurrentFiles | null>;
}

export interface ScanOutcome {
  emitted: number;
  rejected: number;
  /** True when rewriteFile holds the repodata.json to publish (else upstream's bytes). */
  rewritten: boolean;
  /** With a rewrite: whether the filtered current_repodata.json was written. */
  currentWritten: boolean;
}

/** Why a package filename from repodata is unusable, or null. */
function checkFilename(section: PackageSection, filename: string): string | null {
  if (filename.includes('/')) return 'filename contains "/"';
  if (filename.includes('\\')) return 'filename contains "\\"';
  if (/[\x00-\x1f\x7f]/.test(filename)) return 'filename contains a control character';
  if (filename.startsWith('.')) return 'filename starts with "."';
  const ext = section === 'packages' ? '.tar.bz2' : '.conda';
  if (!filename.endsWith(ext) || filename.length === ext.length) return `filename in "${section}" must end in ${ext}`;
  return null;
}

interface PackageRecord {
  name?: unknown;
  version?: unknown;
  size?: unknown;
  sha256?: unknown;
  md5?: unknown;
}

/** Why a record cannot be mirrored, or null. */
function checkRecord(rec: PackageRecord): string | null {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return 'not an object';
  if (typeof rec.size !== 'number' || !Number.isSafeInteger(rec.size) || rec.size < 0) return 'missing or invalid size';
  if (rec.sha256 !== undefined && rec.sha256 !== null && !(typeof rec.sha256 === 'string' && HEX64.test(rec.sha256))) {
    return 'invalid sha256';
  }
  if (rec.md5 !== undefined && rec.md5 !== null && !(typeof rec.md5 === 'string' && HEX32.test(rec.md5))) {
    return 'invalid md5';
  }
  if (typeof rec.sha256 !== 'string' && typeof rec.md5 !== 'string') return 'no sha256 or md5';
  return null;
}

/** How one scan pass treats records. */
interface Pass {
  report: boolean;
  emit: boolean;
  writer: RepodataWriter | null;
  collect: LatestVersions | null;
  keep: Set<string> | null;
  /** Filenames written by `writer` (for filtering current_repodata.json). */
  written: Set<string> | null;
}

class SubdirScan {
  rejected = 0;
  emitted = 0;
  baseUrl: string;
  hasBaseUrl = false;
  private readonly filter: NameFilter;

  constructor(
    private readonly job: ScanJob,
    private readonly sink: ScanSink,
  ) {
    this.baseUrl = new URL('./', job.repodataUrl).href;
    this.filter = nameFilter(job.include, job.exclude);
  }

  get reshaping(): boolean {
    return this.filter.active || this.job.keepLatest !== null;
  }

  /**
   * Reads `info` before any pass: it normally leads the document, so the scan stops at the
   * first member or record; when records come first, the whole file is scanned for it.
   */
  async readInfo(): Promise<void> {
    const stop = new Error('stop');
    let recordFirst = false;
    try {
      await scanRepodata(this.job.file, {
        onRecord: () => {
          recordFirst = true;
          throw stop;
        },
        onMember: (key, raw) => {
          if (key === 'info') {
            this.takeInfo(raw);
            throw stop;
          }
        },
      });
    } catch (err) {
      if (err !== stop) throw err;
    }
    if (recordFirst) {
      await scanRepodata(this.job.file, { onRecord: () => {}, onMember: (key, raw) => key === 'info' && this.takeInfo(raw) });
    }
  }

  private takeInfo(raw: Buffer): void {
    const info = JSON.parse(raw.toString('utf8')) as unknown;
    if (typeof info !== 'object' || info === null || Array.isArray(info)) {
      throw new RepodataFormatError('"info" is not an object');
    }
    const baseUrl = (info as Record<string, unknown>).base_url;
    if (baseUrl === undefined || baseUrl === null || baseUrl === '') return;
    if (typeof baseUrl !== 'string') throw new RepodataFormatError('"info.base_url" is not a string');
    let resolved: URL;
    try {
      resolved = new URL(baseUrl, this.job.repodataUrl);
    } catch {
      throw new RepodataFormatError(`"info.base_url" is not a URL: ${baseUrl}`);
    }
    if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') {
      throw new RepodataFormatError(`"info.base_url" must be http(s): ${baseUrl}`);
    }
    if (!resolved.pathname.endsWith('/')) resolved.pathname += '/';
    this.baseUrl = resolved.href;
    this.hasBaseUrl = true;
  }

  /** One pass over repodata.json; a writer, if any, is finished (or abandoned on error). */
  async run(pass: Pass): Promise<void> {
    const { writer } = pass;
    try {
      await scanRepodata(this.job.file, {
        onMember: (key, raw) => writer?.member(key, raw),
        onSectionStart: (section) => writer?.sectionStart(section),
        onSectionEnd: () => writer?.sectionEnd(),
        onRecord: (section, filename, raw) => this.record(pass, section, filename, raw),
      });
    } catch (err) {
      writer?.abandon();
      throw err;
    }
    writer?.finish();
  }

  private reject(pass: Pass, filename: string, problem: string): void {
    if (!pass.report) return;
    this.rejected++;
    this.sink.problem(`conda ${this.job.subdir}: rejected ${JSON.stringify(filename)}: ${problem}`);
  }

  private record(pass: Pass, section: PackageSection, filename: string, raw: Buffer): void {
    let rec: PackageRecord;
    try {
      rec = JSON.parse(rawText(raw)) as PackageRecord;
    } catch (err) {
      throw new RepodataFormatError(`record ${JSON.stringify(filename)}: ${(err as Error).message}`);
    }
    const problem = checkFilename(section, filename) ?? checkRecord(rec);
    if (problem) return this.reject(pass, filename, problem);
    if (this.filter.active || pass.collect || pass.keep) {
      if (typeof rec.name !== 'string') return this.reject(pass, filename, 'no package name');
      if (!this.filter.accepts(rec.name)) return;
    }
    if (pass.collect) {
      if (typeof rec.version !== 'string') return this.reject(pass, filename, 'no version');
      pass.collect.add(rec.name as string, rec.version, filename);
      return;
    }
    if (pass.keep && !pass.keep.has(filename)) return;
    if (pass.emit) {
      this.emitted++;
      const sha256 = typeof rec.sha256 === 'string';
      this.sink.blob(
        `${this.job.subdir}/${filename}`,
        this.baseUrl + encodeURIComponent(filename),
        rec.size as number,
        sha256 ? 'sha256' : 'md5',
        ((sha256 ? rec.sha256 : rec.md5) as string).toLowerCase(),
      );
    }
    if (pass.writer) {
      pass.writer.record(filename, raw);
      pass.written?.add(filename);
    }
  }
}

/**
 * Writes `input` (a current_repodata.json) to `output` keeping only records in `mirrored`.
 * False when `input` is malformed.
 */
async function filterCurrent(files: CurrentFiles, mirrored: Set<string>): Promise<boolean> {
  const writer = new RepodataWriter(files.output);
  try {
    await scanRepodata(files.input, {
      onMember: (key, raw) => writer.member(key, raw),
      onSectionStart: (section) => writer.sectionStart(section),
      onSectionEnd: () => writer.sectionEnd(),
      onRecord: (_section, filename, raw) => {
        if (mirrored.has(filename)) writer.record(filename, raw);
      },
    });
  } catch (err) {
    writer.abandon();
    if (err instanceof RepodataFormatError) return false;
    throw err;
  }
  writer.finish();
  return true;
}

export async function scanSubdir(job: ScanJob, sink: ScanSink): Promise<ScanOutcome> {
  const scan = new SubdirScan(job, sink);
  await scan.readInfo();
  let written: Set<string> | null = null;
  if (job.keepLatest !== null) {
    const latest = new LatestVersions(job.keepLatest);
    await scan.run({ report: true, emit: false, writer: null, collect: latest, keep: null, written: null });
    written = new Set();
    const keep = latest.select();
    await scan.run({ report: false, emit: true, writer: new RepodataWriter(job.rewriteFile), collect: null, keep, written });
  } else {
    // Filters and upstream's base_url are known before the pass: then it writes as it goes.
    const rewrite = scan.reshaping || scan.hasBaseUrl;
    written = rewrite ? new Set() : null;
    const writer = rewrite ? new RepodataWriter(job.rewriteFile) : null;
    await scan.run({ report: true, emit: true, writer, collect: null, keep: null, written });
    if (!writer && scan.rejected > 0) {
      // The published index must not name a rejected file.
      written = new Set();
      await scan.run({ report: false, emit: false, writer: new RepodataWriter(job.rewriteFile), collect: null, keep: null, written });
    }
  }
  const outcome: ScanOutcome = { emitted: scan.emitted, rejected: scan.rejected, rewritten: written !== null, currentWritten: false };
  if (written !== null) {
    const current = await sink.currentFiles();
    if (current) {
      outcome.currentWritten = await filterCurrent(current, written);
      if (!outcome.currentWritten) {
        sink.problem(`conda ${job.subdir}: current_repodata.json is not valid repodata JSON; not publishing it`);
      }
    }
  }
  return outcome;
}
