// exec, cp, export, import and images, with the escapes real engines shipped as the checklist.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRootfsTar } from './fixtures/rootfs.js';
import { host, missing, sandbox, until } from './helpers.js';

const sb = sandbox();
afterAll(() => sb.clean());
const { cli, inspect } = sb;
const work = join(sb.storage, 'work');
mkdirSync(work);

/** A file only the host can see: the containers must never be able to read or replace it. */
const secretDir = join(sb.storage, 'host-only');
mkdirSync(secretDir);
writeFileSync(join(secretDir, 'secret'), 'host secret\n');

describe.each(['minimal', 'standard', 'strict'] as const)('exec and cp at %s isolation', (level) => {
  const skip = level === 'minimal' ? undefined : missing({ [level]: true });
  const name = `files-${level}`;
  /** Where cp's container path p is for exec: minimal runs on the host, so its root is the app directory. */
  const seen = async (p: string) => (level === 'minimal' ? (await inspect(name)).LogPath.replace(/container\.log$/, 'app') + p : `/app${p}`);
  const home = level === 'minimal' ? '' : '/app'; // the app directory as cp names it

  it.skipIf(!!skip)('exec runs inside with the container environment, -e and -w, and its exit code', async () => {
    await cli(['run', '-d', '--isolation', level, '--name', name, '-e', 'BASE=1', 'host', 'sh', '-c', 'mkdir -p $HOME/sub; sleep 300']);
    await until(async () => (await cli(['exec', name, 'test', '-d', await seen('/sub')])).exitCode === 0, 30_000, 100);
    const r = await cli(['exec', '-e', 'EXTRA=2', name, 'sh', '-c', 'echo $BASE$EXTRA; exit 9']);
    expect(r.stdout).toBe('12');
    expect(r.exitCode).toBe(9);
    expect((await cli(['exec', '-w', await seen('/sub'), name, 'pwd'])).stdout).toBe(await seen('/sub'));
    expect((await cli(['exec', name, 'no-such-binary'])).exitCode).toBe(127);
    if (level !== 'minimal') {
      const st = (await cli(['exec', name, 'sh', '-c', 'cat /proc/self/status; echo; cat /proc/1/cmdline'])).stdout;
      expect(st).toMatch(/NoNewPrivs:\s*1/);
      const capEff = BigInt('0x' + /CapEff:\s*(\w+)/.exec(String(st))![1]);
      expect(capEff & (1n << 21n)).toBe(0n);
      expect(String(st)).toContain('codex32-shim'); // same pid namespace as the main process
    }
  });

  it.skipIf(!!skip)('cp copies files both ways with docker semantics', async () => {
    writeFileSync(join(work, `in-${level}.txt`), 'from host\n');
    expect((await cli(['cp', join(work, `in-${level}.txt`), `${name}:${home}/sub/`])).exitCode).toBe(0);
    expect((await cli(['exec', name, 'cat', await seen(`/sub/in-${level}.txt`)])).stdout).toBe('from host');
    expect((await cli(['cp', join(work, `in-${level}.txt`), `${name}:${home}/renamed.txt`])).exitCode).toBe(0);
    const out = join(work, `out-${level}`);
    expect((await cli(['cp', `${name}:${home}/sub`, out])).exitCode).toBe(0);
    expect(readFileSync(join(out, `in-${level}.txt`), 'utf8')).toBe('from host\n');
    expect((await cli(['cp', `${name}:${home}/renamed.txt`, join(work, `r-${level}.txt`)])).exitCode).toBe(0);
    expect(readFileSync(join(work, `r-${level}.txt`), 'utf8')).toBe('from host\n');
    const tar = execFileSync('node', [join(import.meta.dirname, '..', 'bin', 'codex32'), 'cp', `${name}:${home}/sub`, '-'], { env: { ...process.env, ...sb.env } });
    expect(tar.subarray(0, 100).toString('latin1')).toContain('sub/');
    // a path that is not there: docker's words, both to a file and to a stream
    for (const dest of [join(work, `nope-${level}`), '-']) {
      const gone = await cli(['cp', `${name}:${home}/nope`, dest]);
      expect(gone.exitCode).toBe(125);
      expect(String(gone.stderr)).toBe(`codex32: No such container:path: ${name}:${home}/nope [NO_SUCH_PATH]`);
    }
  });

  it.skipIf(!!skip)('a symlink the container planted never points a copy at the host', async () => {
    const app = await seen('');
    await cli(['exec', name, 'sh', '-c', `ln -s / ${app}/root; ln -s ${secretDir} ${app}/secretdir; ln -s ${secretDir}/secret ${app}/secretfile`]);
    // reading: the link resolves inside the container's root, where the host-only file does not exist
    const r1 = await cli(['cp', `${name}:${home}/root${secretDir}/secret`, join(work, `leak1-${level}`)]);
    expect(r1.exitCode).toBe(125);
    expect(existsSync(join(work, `leak1-${level}`))).toBe(false);
    const r2 = await cli(['cp', `${name}:${home}/secretdir/secret`, join(work, `leak2-${level}`)]);
    expect(r2.exitCode).toBe(125);
    // copying the link itself gives a link, not the host file's content
    await cli(['cp', `${name}:${home}/secretfile`, join(work, `link-${level}`)]);
    expect(readdirSync(work)).toContain(`link-${level}`);
    expect(() => readFileSync(join(work, `link-${level}`), 'utf8')).not.toThrow(); // it is the host's own path, readable by us anyway
    // writing: through a planted link the file lands inside the container, never on the host
    writeFileSync(join(work, 'payload'), 'pwned\n');
    await cli(['cp', join(work, 'payload'), `${name}:${home}/secretdir/secret`]);
    await cli(['cp', join(work, 'payload'), `${name}:${home}/root${secretDir}/`]);
    expect(readFileSync(join(secretDir, 'secret'), 'utf8')).toBe('host secret\n');
    expect(readdirSync(secretDir)).toEqual(['secret']);
  });

  it.skipIf(!!skip)('refuses tar streams with .., absolute paths or links out', async () => {
    const evil = join(work, `evil-${level}`);
    mkdirSync(evil, { recursive: true });
    symlinkSync('/etc', join(evil, 'out'));
    const tarLink = join(work, `link-${level}.tar`);
    execFileSync('tar', ['-cf', tarLink, '-C', evil, 'out']);
    const tarDotdot = join(work, `dotdot-${level}.tar`);
    execFileSync('tar', ['-cf', tarDotdot, '-P', '--transform=s|^|../../|', '-C', work, 'payload']);
    const tarAbs = join(work, `abs-${level}.tar`);
    execFileSync('tar', ['-cPf', tarAbs, join(work, 'payload')]);
    for (const t of [tarLink, tarDotdot, tarAbs]) {
      const r = await cli(['cp', '-', `${name}:${home || '/'}`], { inputFile: t });
      expect(r.exitCode).toBe(125);
      expect(r.stderr).toContain('Refusing the archive');
    }
  });

  it.skipIf(!!skip)('cp and export work on a stopped container', async () => {
    await cli(['stop', '-t', '1', name]);
    expect((await cli(['cp', `${name}:${home}/renamed.txt`, join(work, `stopped-${level}.txt`)])).exitCode).toBe(0);
    expect(readFileSync(join(work, `stopped-${level}.txt`), 'utf8')).toBe('from host\n');
    const exp = join(work, `export-${level}.tar`);
    expect((await cli(['export', name, '-o', exp])).exitCode).toBe(0);
    const names = execFileSync('tar', ['-tf', exp], { encoding: 'utf8' });
    expect(names).toContain('renamed.txt');
    await cli(['rm', name]);
  });
}, 180_000);

describe.skipIf(!!missing({ standard: true }))('images', () => {
  it('imports a rootfs tarball, runs on it, and does not copy it per container', async () => {
    const tar = makeRootfsTar((root) => writeFileSync(join(root, 'big.bin'), Buffer.alloc(100 * 1024 * 1024, 7)));
    const r = await cli(['import', tar, 'tiny']);
    expect(r.exitCode).toBe(0);
    const imgs = await sb.json<Array<{ name: string; size?: number }>>(['images', '--json']);
    expect(imgs.map((i) => i.name)).toEqual(['host', 'tiny']);
    expect(imgs[1].size).toBeGreaterThan(100 * 1024 * 1024);
    const run = await cli(['run', '--name', 'on-tiny', 'tiny', 'sh', '-c', 'cat /etc/os-release; echo ---; ls /usr/bin; echo ---; echo changed > /big.bin; cat /etc/release-link']);
    expect(run.stdout).toContain('codex32 test rootfs');
    expect(String(run.stdout).split('---')[1].trim().split('\n').length).toBeLessThan(10); // the image's userland, not the host's
    const id = (await inspect('on-tiny')).Id;
    const used = Number(execFileSync('du', ['-sk', join(sb.storage, 'containers', id)], { encoding: 'utf8' }).split('\t')[0]);
    expect(used).toBeLessThan(1024); // the 100 MB stays in the image; the write went to a copy-up of one file
    const second = await cli(['run', '--rm', 'tiny', 'ls', '-l', '/big.bin']);
    expect(String(second.stdout)).toContain(String(100 * 1024 * 1024)); // the first container's write did not change the image
    const stored = readFileSync(join(sb.storage, 'images', 'tiny', 'rootfs', 'big.bin'));
    expect(stored.length).toBe(100 * 1024 * 1024);
    expect(stored[0]).toBe(7);
    expect((await cli(['image', 'rm', 'tiny'])).stderr).toContain('IMAGE_IN_USE');
    await cli(['rm', 'on-tiny']);
    expect((await cli(['image', 'rm', 'tiny'])).exitCode).toBe(0);
    rmSync(tar, { force: true });
  });

  it('refuses at start a rootfs whose /proc is a symlink', async () => {
    const tar = makeRootfsTar((root) => symlinkSync('/', join(root, 'proc')));
    expect((await cli(['import', tar, 'procsym'])).exitCode).toBe(0);
    const r = await cli(['run', '--rm', 'procsym', 'sh', '-c', 'echo ran']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('symlink');
    expect(r.stdout).toBe('');
    await cli(['image', 'rm', 'procsym']);
  });

  it('refuses bad image names and unreadable archives', async () => {
    expect((await cli(['import', '/etc/hostname', 'notatar'])).exitCode).toBe(125);
    expect((await cli(['import', '/etc/hostname', '../x'])).exitCode).toBe(125);
    expect((await cli(['images', '--json'])).stdout).not.toContain('notatar');
  });
});

describe.skipIf(!!missing({ standard: true, cgroup: ['memory', 'pids'] }))('stop and rm leave nothing', () => {
  it('no process, mount, cgroup or directory remains', async () => {
    await cli(['run', '-d', '--name', 'tidy', '--memory', '64m', '--pids', '20', 'host', 'sh', '-c', 'sleep 300 & setsid sleep 301 & sleep 302']);
    const id = (await inspect('tidy')).Id;
    await cli(['stop', '-t', '1', 'tidy']);
    await cli(['rm', 'tidy']);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(id);
    for (const c of ['memory', 'pids', 'cpu']) expect(existsSync(`${host.cgroup.controllers[c as 'memory'] ?? '/nonexistent'}/codex32/${id}`)).toBe(false);
    expect(existsSync(join(sb.storage, 'containers', id))).toBe(false);
  });
});
