// The README's test command must pass on a fresh machine with the README's prerequisites only:
// `.ci/run` (what CI runs) installs exactly the Debian packages the README lists, and runs
// exactly the README's commands after that.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('README prerequisites and .ci/run', () => {
  it('.ci/run installs the Debian packages the README lists, then runs npm ci and npm test only', () => {
    const listed = /<!-- debian-packages -->`([^`]+)`/.exec(read('README.md'))?.[1].split(/\s+/).sort();
    const ci = read('.ci/run');
    const installed = /^DEB_PACKAGES="([^"]+)"$/m.exec(ci)?.[1].split(/\s+/).sort();
    expect(listed).toBeDefined();
    expect(installed).toEqual(listed);
    const commands = ci.split('\n').filter((l) => /^npm /.test(l.trim()));
    expect(commands).toEqual(['npm ci', 'npm test']);
  });

  it('the package has a name of its own and installs the mirror command', () => {
    const pkg = JSON.parse(read('package.json'));
    expect(pkg.name).toBe('registry-mirror-cli');
    expect(pkg.bin).toEqual({ mirror: 'bin/mirror.js' });
    expect(read('README.md')).toMatch(/npm link +# put the `mirror` command on your PATH \(or: npm install -g \.\)/);
  });
});
