// Every command and flag of the `mirror` command line, declared once: src/cli.ts registers them
// with the parser, `--help` and the README's flag tables are rendered from them (a test checks
// the README), and each flag's default lives here only. Flags a mirror.toml may also set say
// where (`config`: per job or at the top of the file); their keys are the flag names.
//
// The parser is told no defaults, so the flags it returns are exactly the ones given on the
// command line (`givenFlags`): a value equal to the default still wins over the config file.
// Plain data (no imports beyond types): the CLI loads it at every start.
import type { ConfigSchema, SourceLookup } from '../features/config/config.js';

export type FlagType = 'string' | 'number' | 'boolean' | 'string|number';

export interface FlagSpec {
  /** Without dashes, e.g. 'max-delete'; also the key in mirror.toml. */
  name: string;
  type: FlagType;
  /** The value's placeholder in help and tables (`--max-delete N|P%`); none for a boolean. */
  value?: string;
  /** The value when neither the command line nor a config file gives one. */
  default?: string | number | boolean;
  description: string;
  /** A boolean that also takes `--no-NAME` (described here), to undo a config file's `true`. */
  negation?: string;
  /** Where mirror.toml may set it: per job ([defaults] or [[job]]), or once at the top. */
  config?: 'job' | 'top';
}

export interface CommandSpec {
  name: string;
  /** Positional arguments as cac reads them: `<dest>`, `[...args]`. */
  args: string;
  description: string;
  flags: readonly FlagSpec[];
  /** Takes every source's flags (commands with a <kind>). */
  sourceFlags?: boolean;
}

const flag = (spec: FlagSpec): FlagSpec => spec;

/** Flags every command takes. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  flag({ name: 'log-format', type: 'string', value: 'text|json', default: 'text', config: 'top', description: 'human text, or one JSON object per line, on stderr' }),
  flag({ name: 'log-level', type: 'string', value: 'LEVEL', default: 'info', config: 'top', description: '`error`, `warn`, `info` or `debug`' }),
  flag({ name: 'state', type: 'string', value: 'PATH', config: 'job', description: 'state DB location (default `<dest>/.mirror/state.db`)' }),
  flag({ name: 'concurrency', type: 'string|number', value: 'N|auto', default: 'auto', config: 'job', description: 'parallel downloads: a number from 1 to 4096, or `auto`' }),
  flag({ name: 'rate-limit', type: 'string|number', value: 'RATE', config: 'job', description: 'bandwidth cap in bytes/s, e.g. `500K`, `50M`, `1G`' }),
  flag({ name: 'contact', type: 'string', value: 'TEXT', config: 'job', description: 'URL or e-mail added to the User-Agent: `mirror/<version> (+TEXT)`' }),
  flag({
    name: 'http1',
    type: 'boolean',
    default: false,
    config: 'job',
    description: 'HTTP/1.1 only, over TLS too (no HTTP/2): less CPU per file on a LAN',
    negation: 'HTTP/2 where the server offers it (undoes `http1 = true` from a config file)',
  }),
  flag({
    name: 'redirect-hosts',
    type: 'string',
    value: 'LIST',
    config: 'job',
    description: 'follow redirects to other hosts only to these (comma-separated: `host`, `host:port`, `*.example.org`)',
  }),
  flag({
    name: 'progress',
    type: 'boolean',
    default: true,
    config: 'top',
    description: 'progress output: a redrawn line on a terminal, a log line every 10 s otherwise',
    negation: 'no progress output',
  }),
];

const MAX_DELETE = flag({
  name: 'max-delete',
  type: 'string|number',
  value: 'N|P%',
  default: '10%',
  config: 'job',
  description: 'refuse to delete more than N files or P % of the mirror in one run; the files are kept and marked stale, the run exits 1',
});
const FORCE = flag({ name: 'force', type: 'boolean', default: false, config: 'job', description: 'delete beyond `--max-delete`' });
const JSON_OUTPUT = flag({ name: 'json', type: 'boolean', default: false, description: 'print JSON instead of text' });

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'sync',
    args: '[...args]',
    description: 'Mirror: sync <kind> <upstream> <dest>, or sync --config mirror.toml [JOB...]',
    sourceFlags: true,
    flags: [
      MAX_DELETE,
      FORCE,
      flag({ name: 'config', type: 'string', value: 'FILE', description: 'run the jobs of a mirror.toml (all, or the JOB names given)' }),
      flag({ name: 'parallel', type: 'number', value: 'N', default: 1, config: 'top', description: 'with `--config`: jobs run at once (progress output only when 1)' }),
      flag({ name: 'listen', type: 'string', value: 'HOST:PORT', config: 'top', description: 'serve Prometheus /metrics and JSON /status during the run (a bare port binds to 127.0.0.1)' }),
      flag({ name: 'linger', type: 'number', value: 'SECONDS', config: 'top', description: 'keep serving metrics this long after the work ends (needs `--listen`)' }),
      flag({ name: 'metrics-file', type: 'string', value: 'PATH', config: 'top', description: "write the final metrics for node_exporter's textfile collector" }),
      flag({ name: 'manifest-max-size', type: 'string|number', value: 'SIZE', default: '256M', config: 'job', description: 'rotate `.mirror/manifest.jsonl` at a run start once it is this big' }),
    ],
  },
  {
    name: 'plan',
    args: '<kind> <upstream> <dest>',
    description: 'Dry run: what sync would download, delete and keep (writes nothing)',
    sourceFlags: true,
    flags: [flag({ ...JSON_OUTPUT, description: 'print the plan as JSON' })],
  },
  { name: 'kinds', args: '', description: 'List the source kinds and their flags', flags: [] },
  {
    name: 'verify',
    args: '<dest>',
    description: 'Audit the mirror against the state DB (size+mtime; --hash re-hashes everything)',
    flags: [
      flag({ name: 'hash', type: 'boolean', default: false, description: 're-hash every file (all cores), not only those whose mtime changed' }),
      flag({ name: 'repair', type: 'boolean', default: false, description: 're-download missing or corrupt files (never deletes)' }),
      flag({ ...JSON_OUTPUT, description: 'print the report as JSON' }),
    ],
  },
  {
    name: 'gc',
    args: '<dest>',
    description: 'Delete files an earlier sync left as stale (it refused to under --max-delete)',
    flags: [flag({ name: 'dry-run', type: 'boolean', default: false, description: 'only list what would be deleted' }), FORCE, MAX_DELETE],
  },
  {
    name: 'status',
    args: '[...args]',
    description: 'Show the last run, size and health: status <dest>, or status --config mirror.toml [JOB...]',
    flags: [
      flag({ ...JSON_OUTPUT, description: 'print as JSON (the fields of `.mirror/status.json`)' }),
      flag({ name: 'config', type: 'string', value: 'FILE', description: 'a table of every job of a mirror.toml (or of the JOB names given)' }),
    ],
  },
  {
    name: 'manifest',
    args: '<dest>',
    description: "Print the audit manifest: one run's records (--run ID|last), or the list of runs",
    flags: [flag({ name: 'run', type: 'string|number', value: 'ID|last', description: "one run's records (a run id, or `last`)" })],
  },
  {
    name: 'serve',
    args: '<dest>',
    description: 'Serve a mirror directory over HTTP (static, with ETag/304 and ranges)',
    flags: [flag({ name: 'listen', type: 'string', value: 'HOST:PORT', default: '127.0.0.1:8080', description: 'address to bind (a bare port binds to 127.0.0.1)' })],
  },
  {
    name: 'bundle',
    args: '<dest>',
    description: 'Write the mirror (or what changed since a run) as rolling .tar.zst volumes',
    flags: [
      flag({ name: 'out', type: 'string', value: 'DIR', description: 'directory for the volumes and the bundle index (required)' }),
      flag({ name: 'size', type: 'string|number', value: 'SIZE', default: '8G', description: 'largest volume, e.g. `8G`, `700M` (uncompressed tar bytes)' }),
      flag({ name: 'since', type: 'string|number', value: 'RUN', description: 'incremental: only files changed after run RUN, plus deletions since' }),
      flag({ name: 'name', type: 'string', value: 'NAME', description: 'bundle name (default `mirror-<UTC time>`)' }),
      flag({ name: 'level', type: 'number', value: 'N', default: 3, description: 'zstd compression level 1-19' }),
    ],
  },
  {
    name: 'unbundle',
    args: '<bundle> <dest>',
    description: 'Verify a bundle (index file or directory of bundles) and restore it into dest',
    flags: [flag({ name: 'check', type: 'boolean', default: false, description: 'verify everything, change nothing' })],
  },
  {
    name: 'inventory',
    args: '<dest>',
    description: 'List every mirrored file with its size and hashes',
    flags: [
      flag({ name: 'algo', type: 'string', value: 'LIST', default: 'sha256', description: 'comma-separated: sha256, sha512, sha1, md5, blake3, xxh64, xxh3, xxh128' }),
      flag({ name: 'format', type: 'string', value: 'jsonl|yaml', default: 'jsonl', description: 'output format' }),
      flag({ name: 'out', type: 'string', value: 'FILE', description: 'write to FILE (atomically) instead of stdout' }),
      flag({ name: 'jobs', type: 'number', value: 'N', description: 'hashing threads (default: one per core)' }),
      flag({ name: 'sign', type: 'string', value: 'KEY', description: 'write a detached armoured gpg signature FILE.asc with this key (needs `--out`)' }),
    ],
  },
  {
    name: 'demo',
    args: '',
    description: 'Mirror a local fixture upstream into ./demo-mirror and verify it',
    flags: [
      flag({ name: 'files', type: 'number', value: 'N', default: 300, description: 'number of files in the fixture upstream' }),
      flag({ name: 'dest', type: 'string', value: 'DIR', default: 'demo-mirror', description: 'where to put the demo mirror' }),
    ],
  },
];

export function commandSpec(name: string): CommandSpec {
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) throw new Error(`no command '${name}'`);
  return spec;
}

/** What mirror.toml may hold: the flags with a `config` place, typed, and the sources' options. */
export function configSchema(findSource: SourceLookup): ConfigSchema {
  const settings = (scope: 'job' | 'top') =>
    Object.fromEntries([...GLOBAL_FLAGS, ...commandSpec('sync').flags].filter((f) => f.config === scope).map((f) => [f.name, f.type]));
  return { findSource, jobSettings: settings('job'), topSettings: settings('top') };
}

/** A flag's name as the parser (cac) keys it: 'max-delete' → 'maxDelete'. */
export function parserKey(name: string): string {
  return name.replace(/([a-z])-([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase());
}

/** Values keyed by flag name, for the flags present in what the parser returned (given ones only). */
export function givenFlags(parsed: Readonly<Record<string, unknown>>, specs: readonly { name: string }[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const value = parsed[parserKey(spec.name)];
    if (value !== undefined) out[spec.name] = value;
  }
  return out;
}

/** How a flag reads in help and tables: `--max-delete N|P%`. */
export function flagUsage(spec: FlagSpec, negated = false): string {
  if (negated) return `--no-${spec.name}`;
  return `--${spec.name}${spec.value ? ` ${spec.value}` : ''}`;
}

/** The help text of a flag, with its default when it has one worth saying. */
export function flagHelp(spec: FlagSpec, negated = false): string {
  if (negated) return spec.negation ?? '';
  const shown = spec.default === undefined || spec.default === false ? '' : ` (default: ${spec.default === true ? 'on' : String(spec.default)})`;
  return `${spec.description}${shown}`;
}

/** Every usage form of a flag: `--http1` and `--no-http1` for a negatable one. */
export function flagForms(spec: FlagSpec): { usage: string; help: string }[] {
  const forms = [{ usage: flagUsage(spec), help: flagHelp(spec) }];
  if (spec.negation) forms.push({ usage: flagUsage(spec, true), help: flagHelp(spec, true) });
  return forms;
}

/** A Markdown table of flags, as the README shows them. */
export function flagTable(specs: readonly FlagSpec[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = specs.flatMap(flagForms).map((f) => `| \`${cell(f.usage)}\` | ${cell(f.help)} |`);
  return ['| flag | meaning |', '| --- | --- |', ...rows].join('\n');
}
