// mirror.toml parsing: defaults overlaid per job, typed adapter options, paths resolved against
// the file, and every mistake reported with its location.
import { describe, it, expect } from 'vitest';
import { parseConfig, selectJobs } from '../../src/features/config/config.js';
import type { SourceOptionSpec } from '../../src/sources/types.js';
import { configSchema } from '../../src/commands/flags.js';

const specs: Record<string, SourceOptionSpec[]> = {
  list: [
    { flag: 'base-url', description: '', type: 'string' },
    { flag: 'include', description: '', type: 'string[]' },
    { flag: 'depth', description: '', type: 'number', default: 2 },
  ],
};
const find = (kind: string) => (specs[kind] ? { options: specs[kind] } : undefined);
const parse = (text: string) => parseConfig(text, '/etc/mirror/mirror.toml', configSchema(find));

const GOOD = `
parallel = 2
listen = "127.0.0.1:9090"
[defaults]
concurrency = "auto"
max-delete = "10%"
[[job]]
name = "one"
kind = "list"
upstream = "http://127.0.0.1:1/list.txt"
dest = "one"
concurrency = 4
state = "state/one.db"
[job.options]
base-url = "http://127.0.0.1:1/"
include = "a*"
[[job]]
name = "two"
kind = "list"
upstream = "http://127.0.0.1:1/other.txt"
dest = "/srv/two"
`;

describe('mirror.toml', () => {
  it('parses jobs with defaults, options and resolved paths', () => {
    const c = parse(GOOD);
    expect(c.top).toEqual({ parallel: 2, listen: '127.0.0.1:9090' });
    expect(c.jobs).toHaveLength(2);
    expect(c.jobs[0]).toEqual({
      name: 'one',
      kind: 'list',
      upstream: 'http://127.0.0.1:1/list.txt',
      dest: '/etc/mirror/one',
      settings: { concurrency: 4, 'max-delete': '10%', state: '/etc/mirror/state/one.db' },
      options: { 'base-url': 'http://127.0.0.1:1/', include: ['a*'], depth: 2 },
    });
    expect(c.jobs[1].settings).toEqual({ concurrency: 'auto', 'max-delete': '10%' });
    expect(selectJobs(c, ['two']).map((j) => j.name)).toEqual(['two']);
    expect(selectJobs(c, []).map((j) => j.name)).toEqual(['one', 'two']);
    expect(() => selectJobs(c, ['three'])).toThrow(/no job named 'three'/);
  });

  it.each([
    ['[[job]\nname=', /mirror\.toml:\d+:\d+/],
    ['paralel = 2\n[[job]]\nname="a"\nkind="list"\nupstream="u"\ndest="d"', /paralel: unknown key/],
    ['[[job]]\nname="a"\nkind="nope"\nupstream="u"\ndest="d"', /job 'a' kind: unknown source kind 'nope'/],
    ['[[job]]\nname="a"\nkind="list"\nupstream="u"', /job 'a' dest: required/],
    ['[[job]]\nname="a"\nkind="list"\nupstream="u"\ndest="d"\nconcurency=3', /concurency: unknown key/],
    ['[[job]]\nname="a"\nkind="list"\nupstream="u"\ndest="d"\nforce="yes"', /force: must be boolean/],
    ['[[job]]\nname="a"\nkind="list"\nupstream="u"\ndest="d"\n[job.options]\nbase = "x"', /\[options\] base: unknown option/],
    ['[[job]]\nname="a"\nkind="list"\nupstream="u"\ndest="d"\n[[job]]\nname="a"\nkind="list"\nupstream="u"\ndest="e"', /two jobs are named 'a'/],
    ['[[job]]\nname="a"\nkind="list"\nupstream="u"\ndest="d"\n[[job]]\nname="b"\nkind="list"\nupstream="u"\ndest="./d"', /share dest/],
    ['[[job]]\nname="../x"\nkind="list"\nupstream="u"\ndest="d"', /name: use letters/],
    ['parallel = 2', /no \[\[job\]\] defined/],
  ])('rejects %j', (text, message) => {
    expect(() => parse(text)).toThrow(message);
  });
});
