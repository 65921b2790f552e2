// `mirror.toml`: many sync jobs in one file (parsed with smol-toml).
//
//   parallel = 2                    # process-wide flags: parallel, listen, linger, metrics-file,
//   listen = "127.0.0.1:9090"       #   log-format, log-level, progress
//   [defaults]                      # any per-job sync flag, for every job (a job's key wins)
//   concurrency = "auto"
//   [[job]]
//   name = "crates"                 # unique; [A-Za-z0-9._-]
//   kind = "list"                   # a registered source
//   upstream = "https://..."
//   dest = "crates"                 # relative paths resolve against the config file's folder
//   max-delete = "5%"               # sync flags, spelled as on the command line
//   [job.options]                   # adapter flags, as declared by the source
//   base-url = "https://..."
//
// Contract: every key is checked against the caller's schema (the CLI's flag table says which
// flags a job or the top of the file may set, and their types; each source declares its
// options): unknown keys, wrong types, duplicate names and two jobs sharing a dest are errors
// naming the key, so a typo never silently changes a job. Values keep their CLI spelling; the
// caller turns them into run options with the same builder as flags, where a flag given on the
// command line wins over the file.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { UsageError } from '../../errors.js';
import type { SourceOptionSpec } from '../../sources/types.js';

export type SettingType = 'string' | 'number' | 'boolean' | 'string|number';

/** What a config may hold, by key: the caller's flags (typed) and the sources' options. */
export interface ConfigSchema {
  findSource: SourceLookup;
  /** Sync flags a job may set (in [defaults], per job, or both), by CLI spelling. */
  jobSettings: Readonly<Record<string, SettingType>>;
  /** Settings of the whole process (one value for all jobs), top level of the file. */
  topSettings: Readonly<Record<string, SettingType>>;
}

export interface JobConfig {
  name: string;
  kind: string;
  upstream: string;
  /** Absolute. */
  dest: string;
  /** Sync flags: [defaults] overlaid with the job's own keys. Paths (state) are absolute. */
  settings: Record<string, string | number | boolean>;
  /** Adapter flags, typed as the source declares them. */
  options: Record<string, unknown>;
}

export interface MirrorConfig {
  file: string;
  top: Record<string, string | number | boolean>;
  jobs: JobConfig[];
}

/** What the loader needs to know about sources (kept abstract so the loader stays testable). */
export type SourceLookup = (kind: string) => { options: SourceOptionSpec[] } | undefined;

const JOB_KEYS = new Set(['name', 'kind', 'upstream', 'dest', 'options']);

export async function loadConfig(file: string, schema: ConfigSchema): Promise<MirrorConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfig(text, path, schema);
}

export function parseConfig(text: string, path: string, schema: ConfigSchema): MirrorConfig {
  const { findSource, jobSettings, topSettings } = schema;
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) throw new UsageError(`${path}:${err.line}:${err.column}: ${err.message.split('\n')[0]}`);
    throw err;
  }
  const where = (key: string) => `${path}: ${key}`;
  const top: MirrorConfig['top'] = {};
  let defaults: Record<string, string | number | boolean> = {};
  let rawJobs: unknown[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'job') {
      if (!Array.isArray(value)) throw new UsageError(`${where('job')}: write jobs as [[job]] tables`);
      rawJobs = value;
    } else if (key === 'defaults') {
      defaults = checkSettings(value, jobSettings, where('[defaults]'));
    } else if (key in topSettings) {
      top[key] = checkValue(value, topSettings[key], where(key));
    } else {
      throw new UsageError(`${where(key)}: unknown key (top-level keys: ${[...Object.keys(topSettings), 'defaults', 'job'].join(', ')})`);
    }
  }
  if (rawJobs.length === 0) throw new UsageError(`${path}: no [[job]] defined`);
  const baseDir = dirname(path);
  if (typeof defaults.state === 'string') throw new UsageError(`${where('[defaults] state')}: each job needs its own state DB; set state per job`);

  const jobs: JobConfig[] = rawJobs.map((raw, i) => {
    const at = (key: string) => where(`job #${i + 1}${key ? ` ${key}` : ''}`);
    if (!isTable(raw)) throw new UsageError(`${at('')}: not a table`);
    const name = requireString(raw, 'name', at);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`${at('name')}: use letters, digits, '.', '_' and '-' only`);
    const jobAt = (key: string) => where(`job '${name}'${key ? ` ${key}` : ''}`);
    const kind = requireString(raw, 'kind', jobAt);
    const source = findSource(kind);
    if (!source) throw new UsageError(`${jobAt('kind')}: unknown source kind '${kind}'`);
    const upstream = requireString(raw, 'upstream', jobAt);
    const dest = resolve(baseDir, requireString(raw, 'dest', jobAt));
    const own: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) if (!JOB_KEYS.has(key)) own[key] = value;
    const settings = { ...defaults, ...checkSettings(own, jobSettings, jobAt('')) };
    if (typeof settings.state === 'string') settings.state = resolve(baseDir, settings.state);
    const options = checkOptions(raw.options ?? {}, source.options, jobAt('[options]'));
    return { name, kind, upstream, dest, settings, options };
  });

  const seen = new Map<string, string>();
  for (const job of jobs) {
    if (seen.has(`name:${job.name}`)) throw new UsageError(`${path}: two jobs are named '${job.name}'`);
    seen.set(`name:${job.name}`, job.name);
    const other = seen.get(`dest:${job.dest}`);
    if (other) throw new UsageError(`${path}: jobs '${other}' and '${job.name}' share dest ${job.dest}`);
    seen.set(`dest:${job.dest}`, job.name);
  }
  return { file: path, top, jobs };
}

/** The jobs named on the command line (all when none), in config order. */
export function selectJobs(config: MirrorConfig, names: string[]): JobConfig[] {
  for (const n of names) {
    if (!config.jobs.some((j) => j.name === n)) throw new UsageError(`no job named '${n}' in ${config.file} (jobs: ${config.jobs.map((j) => j.name).join(', ')})`);
  }
  return names.length === 0 ? config.jobs : config.jobs.filter((j) => names.includes(j.name));
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function requireString(table: Record<string, unknown>, key: string, at: (k: string) => string): string {
  const v = table[key];
  if (typeof v !== 'string' || v === '') throw new UsageError(`${at(key)}: required, a non-empty string`);
  return v;
}

function checkSettings(value: unknown, spec: Readonly<Record<string, SettingType>>, at: string): Record<string, string | number | boolean> {
  if (!isTable(value)) throw new UsageError(`${at}: must be a table`);
  const out: Record<string, string | number | boolean> = {};
  for (const [key, v] of Object.entries(value)) {
    const type = spec[key];
    if (!type) throw new UsageError(`${at} ${key}: unknown key (known: ${Object.keys(spec).join(', ')})`);
    out[key] = checkValue(v, type, `${at} ${key}`);
  }
  return out;
}

function checkValue(v: unknown, type: SettingType, at: string): string | number | boolean {
  if (typeof v === 'bigint') v = Number(v);
  const ok =
    (type === 'string' && typeof v === 'string') ||
    (type === 'number' && typeof v === 'number') ||
    (type === 'boolean' && typeof v === 'boolean') ||
    (type === 'string|number' && (typeof v === 'string' || typeof v === 'number'));
  if (!ok) throw new UsageError(`${at}: must be ${type.replace('|', ' or ')}, not ${JSON.stringify(v)}`);
  return v as string | number | boolean;
}

function checkOptions(value: unknown, specs: SourceOptionSpec[], at: string): Record<string, unknown> {
  if (!isTable(value)) throw new UsageError(`${at}: must be a table`);
  const out: Record<string, unknown> = {};
  for (const spec of specs) if (spec.default !== undefined) out[spec.flag] = spec.default;
  for (const [key, v] of Object.entries(value)) {
    const spec = specs.find((s) => s.flag === key);
    if (!spec) throw new UsageError(`${at} ${key}: unknown option (known: ${specs.map((s) => s.flag).join(', ') || 'none'})`);
    if (spec.type === 'string[]') {
      const list = Array.isArray(v) ? v : [v];
      if (!list.every((x) => typeof x === 'string')) throw new UsageError(`${at} ${key}: must be a string or a list of strings`);
      out[key] = list;
    } else {
      out[key] = checkValue(v, spec.type, `${at} ${key}`);
    }
  }
  return out;
}
