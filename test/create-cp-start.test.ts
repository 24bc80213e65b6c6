// docker's create, cp, start habit: files copied into a container that has never run are there at its
// first start (its app directory and, on an image with layers, its writable layer); `start -a` follows
// that run alone and exits with its code.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRootfsTar } from './fixtures/rootfs.js';
import { missing, sandbox } from './helpers.js';

const sb = sandbox('c32-ccs-');
const { cli } = sb;
const work = mkdtempSync(join(sb.storage, 'work-'));
writeFileSync(join(work, 'conf.txt'), 'copied before start\n');
afterAll(() => sb.clean());

describe.each(['minimal', 'standard', 'strict'] as const)('create, cp, start -a at %s', (level) => {
  const skip = level === 'minimal' ? undefined : missing({ [level]: true });
  const home = level === 'minimal' ? '' : '/app'; // the app directory as cp names it

  it.skipIf(!!skip)('a file copied into a never-started container is read by its first run', async () => {
    const name = `ccs-${level}`;
    // the command reads the file where the container sees its app directory, whatever the level
    expect((await cli(['create', '--isolation', level, '--name', name, 'host', 'sh', '-c', 'cat "$HOME/conf.txt"; echo to-err >&2; exit 7'])).exitCode).toBe(0);
    const cp = await cli(['cp', join(work, 'conf.txt'), `${name}:${home}/conf.txt`]);
    expect(cp.exitCode, String(cp.stderr)).toBe(0);
    // and out again before it ever ran
    const back = join(work, `back-${level}.txt`);
    expect((await cli(['cp', `${name}:${home}/conf.txt`, back])).exitCode).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe('copied before start\n');
    for (let run = 0; run < 2; run++) {
      const r = await cli(['start', '-a', name]);
      expect(r.exitCode, String(r.stderr)).toBe(7);
      // this run's lines alone, not the run before's again
      expect(r.stdout).toBe('copied before start');
      expect(r.stderr).toBe('to-err');
    }
  });
});

describe.each(['standard', 'strict'] as const)('a copy the next start would wipe, at %s', (level) => {
  const skip = missing({ [level]: true });
  it.skipIf(!!skip)('is refused while the container is not running, naming the mount; the same copy works once it runs', async () => {
    const name = `ccs-fresh-${level}`;
    expect((await cli(['create', '--isolation', level, '--name', name, 'host', 'sleep', '300'])).exitCode).toBe(0);
    // /tmp is a tmpfs of each run, and the host image's root a tmpfs: either copy would be gone at the start
    for (const [dest, at] of [['/tmp/conf.txt', '/tmp'], ['/conf.txt', '/']]) {
      const r = await cli(['cp', join(work, 'conf.txt'), `${name}:${dest}`]);
      expect(r.exitCode).toBe(125);
      expect(String(r.stderr)).toContain(`Cannot copy into ${dest.replace(/\/conf.txt$/, '') || '/'} of container ${name}: it is not running, and ${at} is mounted afresh at each start`);
      expect(String(r.stderr)).toMatch(/\[INVALID_STATE\]$/m);
    }
    expect((await cli(['start', name])).exitCode).toBe(0);
    expect((await cli(['cp', join(work, 'conf.txt'), `${name}:/tmp/conf.txt`])).exitCode).toBe(0);
    const r = await cli(['exec', name, 'cat', '/tmp/conf.txt']);
    expect(r.stdout).toBe('copied before start');
    expect((await cli(['rm', '-f', name])).exitCode).toBe(0);
  });
});

describe.each(['standard', 'strict'] as const)('an image with layers at %s', (level) => {
  const skip = missing({ [level]: true });
  it.skipIf(!!skip)('what cp puts in the writable layer before the first start is the container\'s own', async () => {
    const tar = makeRootfsTar(() => undefined);
    const image = `ccs-img-${level}`;
    expect((await cli(['import', tar, image])).exitCode).toBe(0);
    rmSync(tar, { force: true });
    const name = `ccs-layer-${level}`;
    // standard changes it in its writable layer; strict's root is read-only, and the file is its root's (uid 0
    // inside), handed to its uid range at the first start
    const script = level === 'standard' ? 'cat /etc/conf.txt && echo changed >> /etc/conf.txt && cat /etc/conf.txt' : 'cat /etc/conf.txt && ls -ln /etc/conf.txt';
    expect((await cli(['create', '--isolation', level, '--name', name, image, 'sh', '-c', script])).exitCode).toBe(0);
    const cp = await cli(['cp', join(work, 'conf.txt'), `${name}:/etc/conf.txt`]);
    expect(cp.exitCode, String(cp.stderr)).toBe(0);
    const r = await cli(['start', '-a', name]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    if (level === 'standard') expect(r.stdout).toBe('copied before start\ncopied before start\nchanged');
    else expect(r.stdout).toMatch(/^copied before start\n-rw-r--r-- +1 0 +0 .*\/etc\/conf.txt$/);
  });
});

describe('start refuses what it cannot do', () => {
  it('-a with several containers, -i without open stdin, --all with names', async () => {
    expect((await cli(['create', '--name', 'plain', 'host', 'true'])).exitCode).toBe(0);
    expect((await cli(['start', '-a', 'plain', 'plain'])).stderr).toContain('Expected one container with -a or -i');
    expect((await cli(['start', '-i', 'plain'])).stderr).toContain('Expected a container created with -i for start -i');
    const all = await cli(['start', '--all', 'plain']);
    expect(all.exitCode).toBe(125);
    expect(all.stderr).toContain('Expected --all alone');
  });
});
