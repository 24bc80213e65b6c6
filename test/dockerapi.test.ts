// The Docker Engine API with the real docker CLI (Debian's docker.io 20.10): run, ps, logs, exec (also
// -it through tmux), cp both ways, stats, events, stop, rm, limits, and what is refused.
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateNetworkMissing } from '../src/engine/network.js';
import { DOCKER, dockerApi } from './dockerapi-helpers.js';
import { BIN, SLOWDOWN, cgroupDir, host, missing, sleep, until } from './helpers.js';

const tools = [DOCKER, '/usr/bin/tmux'].filter((t) => !existsSync(t));
const skip =
  missing({ standard: true, cgroup: ['memory', 'pids'] }) ??
  (process.env.CI === 'true' ? undefined : (privateNetworkMissing()[0] ?? (tools.length ? `missing ${tools.join(', ')} (scripts/test-setup.sh installs them)` : undefined)));
let api: Awaited<ReturnType<typeof dockerApi>>;
const work = mkdtempSync(join(tmpdir(), 'c32-dapi-'));
/** Whether the shell in a tmux session shows its prompt (root's "#"): it reads what is typed from then on. */
const prompted = (session: string) => /^#\s*$/m.test(execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }));

beforeAll(async () => {
  if (!skip) api = await dockerApi('c32-dapi-');
}, 60_000 * SLOWDOWN);
afterAll(async () => {
  await api?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!!skip)('the Docker API with the docker CLI', () => {
  it('answers version and info, and runs --rm in the foreground with the exit code and both streams', async () => {
    const v = await api.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
    expect(v.exitCode, String(v.stderr)).toBe(0);
    expect(v.stdout).toBe('1.43 linux');
    const info = await api.docker(['info']);
    expect(info.exitCode, String(info.stderr)).toBe(0);
    expect(info.stdout).toContain('Server Version: 0.1.0');
    const r = await api.docker(['run', '--rm', '--name', 'fg', 'host', 'sh', '-c', 'echo hi; echo err >&2; exit 3']);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('hi');
    expect(r.stderr).toBe('err');
    await until(async () => (await api.docker(['ps', '-aq'])).stdout === '', 10_000); // --rm removed it
    const nf = await api.docker(['run', '--rm', 'host', 'no-such-command']);
    expect(nf.exitCode).toBe(127); // the CLI's rule for "executable file not found"
    expect((await api.docker(['ps', '-aq'])).stdout).toBe('');
  });

  it('runs detached with a published port, lists, follows logs, inspects, stops and removes', async () => {
    writeFileSync(join(work, 'index.html'), 'hello from docker api\n');
    const d = await api.docker(['run', '-d', '--name', 'www', '-p', '8080', '-v', `${work}:/www:ro`, 'host', 'busybox', 'httpd', '-f', '-p', '8080', '-h', '/www']);
    expect(d.exitCode, String(d.stderr)).toBe(0);
    expect(d.stdout).toMatch(/^[0-9a-f]{64}$/);
    const port = (await api.docker(['port', 'www', '8080'])).stdout.split(':').pop();
    const body = await until(async () => (await fetch(`http://127.0.0.1:${port}/index.html`).catch(() => undefined))?.text(), 20_000);
    expect(body).toBe('hello from docker api\n');
    const ps = await api.docker(['ps']);
    expect(ps.stdout).toMatch(new RegExp(`www$`, 'm'));
    expect(ps.stdout).toContain(`0.0.0.0:${port}->8080/tcp`);
    const insp = JSON.parse((await api.docker(['inspect', 'www'])).stdout)[0];
    expect(insp.Name).toBe('/www');
    expect(insp.State.Running).toBe(true);
    expect(insp.HostConfig.PortBindings['8080/tcp'][0].HostPort).toBe(port);
    expect((await api.docker(['stop', '-t', '1', 'www'])).exitCode).toBe(0);
    expect(JSON.parse((await api.docker(['inspect', 'www'])).stdout)[0].State.Status).toBe('exited');
    // logs -f of a container that writes, then exits: the command returns when it does
    expect((await api.docker(['run', '-d', '--name', 'talk', 'host', 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.2; done; echo bye >&2'])).exitCode).toBe(0);
    const logs = await api.docker(['logs', '-f', 'talk'], { timeout: 30_000 });
    expect(logs.stdout).toBe('line 1\nline 2\nline 3');
    expect(logs.stderr).toBe('bye');
    expect((await api.docker(['logs', '--tail', '1', 'talk'])).stdout).toBe('');
    expect((await api.docker(['wait', 'talk'])).stdout).toBe('0');
    expect((await api.docker(['rm', '-f', 'www', 'talk'])).exitCode).toBe(0);
    expect((await api.docker(['ps', '-aq'])).stdout).toBe('');
    const gone = await api.docker(['inspect', 'www']);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toContain('No such object: www');
  }, 120_000 * SLOWDOWN);

  it('execs with exit codes, stdin, detached, and -it through a terminal in tmux', async () => {
    expect((await api.docker(['run', '-d', '--name', 'box', 'host', 'sleep', '300'])).exitCode).toBe(0);
    const e = await api.docker(['exec', 'box', 'sh', '-c', 'echo out; echo err >&2; exit 42']);
    expect([e.exitCode, e.stdout, e.stderr]).toEqual([42, 'out', 'err']);
    expect((await api.docker(['exec', '-i', 'box', 'cat'], { input: 'from stdin\n' })).stdout).toBe('from stdin');
    expect((await api.docker(['exec', '-d', 'box', 'sh', '-c', 'echo detached > /tmp/d'])).exitCode).toBe(0);
    await until(async () => (await api.docker(['exec', 'box', 'cat', '/tmp/d'])).stdout === 'detached', 10_000);
    const session = `c32dapi${process.pid}`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '30', `DOCKER_HOST=${api.dockerEnv.DOCKER_HOST} ${DOCKER} exec -it box sh; echo "exit=$?"; sleep 30`]);
    try {
      // typed before the shell reads, the line is echoed ahead of its prompt and the answer lands after it
      await until(() => prompted(session), 20_000);
      // the docker CLI sends the window size just after the exec starts: wait for it inside, then answer
      execFileSync('tmux', ['send-keys', '-t', session, 'until [ "$(stty size)" = "30 100" ]; do sleep 0.1; done; echo $((6*7)); tty; stty size', 'Enter']);
      const screen = await until(() => {
        const s = execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
        return /^30 100\r?$/m.test(s) && s;
      }, 20_000);
      expect(screen).toMatch(/^42$/m);
      expect(screen).toMatch(/^\/dev\/pts\/\d+$/m);
      execFileSync('tmux', ['send-keys', '-t', session, 'exit 7', 'Enter']);
      await until(() => execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).includes('exit=7'), 20_000);
    } finally {
      execFileSync('tmux', ['kill-session', '-t', session]);
    }
  }, 120_000 * SLOWDOWN);

  it('runs attached with stdin (-i) and with a terminal (-it), and attaches to a running one', async () => {
    const piped = await api.docker(['run', '-i', '--rm', '--network', 'none', 'host', 'cat'], { input: 'piped in\n' });
    expect([piped.exitCode, piped.stdout]).toEqual([0, 'piped in']);
    const tmux = (...a: string[]) => execFileSync('tmux', a, { encoding: 'utf8' });
    const screen = (s: string) => tmux('capture-pane', '-p', '-t', s);
    const host = `DOCKER_HOST=${api.dockerEnv.DOCKER_HOST}`;
    const run = `c32run${process.pid}`;
    tmux('new-session', '-d', '-s', run, '-x', '90', '-y', '25', `${host} ${DOCKER} run -it --rm --network none host sh; echo "exit=$?"; sleep 30`);
    try {
      await until(() => prompted(run), 20_000);
      tmux('send-keys', '-t', run, 'until [ "$(stty size)" = "25 90" ]; do sleep 0.1; done; stty size; exit 6', 'Enter');
      const out = await until(() => screen(run).includes('exit=6') && screen(run), 20_000);
      expect(out).toMatch(/^25 90\r?$/m);
    } finally {
      tmux('kill-session', '-t', run);
    }
    expect((await api.docker(['run', '-dit', '--name', 'att', '--network', 'none', 'host', 'sh'])).exitCode).toBe(0);
    const att = `c32att${process.pid}`;
    tmux('new-session', '-d', '-s', att, '-x', '90', '-y', '25', `${host} ${DOCKER} attach att; echo "detached=$?"; sleep 30`);
    try {
      await sleep(500);
      tmux('send-keys', '-t', att, 'echo attached-$((40+2))', 'Enter');
      await until(() => screen(att).includes('attached-42'), 20_000);
      tmux('send-keys', '-t', att, 'C-p', 'C-q'); // docker's detach keys: the container runs on
      await until(() => screen(att).includes('detached='), 20_000);
    } finally {
      tmux('kill-session', '-t', att);
    }
    expect((await api.docker(['inspect', '-f', '{{.State.Running}}', 'att'])).stdout).toBe('true');
    expect((await api.docker(['rm', '-f', 'att'])).exitCode).toBe(0);
  }, 120_000 * SLOWDOWN);

  it('copies files and directories both ways, and reports stats and events', async () => {
    mkdirSync(join(work, 'tree/sub'), { recursive: true });
    writeFileSync(join(work, 'tree/sub/a.txt'), 'A\n');
    writeFileSync(join(work, 'one.txt'), 'one\n');
    expect((await api.docker(['cp', join(work, 'one.txt'), 'box:/tmp/'])).exitCode).toBe(0);
    expect((await api.docker(['cp', join(work, 'tree'), 'box:/tmp/tree'])).exitCode).toBe(0);
    expect((await api.docker(['exec', 'box', 'cat', '/tmp/one.txt', '/tmp/tree/sub/a.txt'])).stdout).toBe('one\nA');
    const back = join(work, 'back');
    expect((await api.docker(['cp', 'box:/tmp/tree', back])).exitCode).toBe(0);
    expect(readFileSync(join(back, 'sub/a.txt'), 'utf8')).toBe('A\n');
    expect((await api.docker(['cp', 'box:/tmp/one.txt', join(work, 'one-back.txt')])).exitCode).toBe(0);
    expect(statSync(join(work, 'one-back.txt')).size).toBe(4);
    const missingPath = await api.docker(['cp', 'box:/nope', join(work, 'x')]);
    expect(missingPath.exitCode).toBe(1);
    expect(missingPath.stderr).toContain('No such container:path: box:/nope'); // the CLI's text for a 404
    // every answer for a missing path comes, however the helper's end blocks arrive (one time in three it hung)
    const status = (method: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ socketPath: api.socket, method, path: '/v1.43/containers/box/archive?path=/nope', timeout: 10_000 * SLOWDOWN }, (res) => {
          res.resume().on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('timeout', () => req.destroy(new Error(`${method} of a missing path got no answer`))).on('error', reject).end();
      });
    for (let i = 0; i < 15; i++) expect([await status('HEAD'), await status('GET')]).toEqual([404, 404]);
    const stats = await api.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}']);
    expect(stats.exitCode, String(stats.stderr)).toBe(0);
    expect(stats.stdout).toMatch(/^box [1-9]\d*$/m);
    const since = Math.floor(Date.now() / 1000) - 600;
    const ev = await api.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=box']);
    expect(ev.stdout).toMatch(/container create [0-9a-f]{64} .*name=box/);
    expect(ev.stdout).toMatch(/container start [0-9a-f]{64}/);
  }, 120_000 * SLOWDOWN);

  it('maps limits onto the container and refuses what would weaken isolation', async () => {
    const c = await api.docker(['create', '--name', 'lim', '-m', '64m', '--pids-limit', '20', '--cpus', '0.5', '--cpu-shares', '512', '--cap-drop', 'ALL', '--cap-add', 'CHOWN', 'host', 'sleep', '60']);
    expect(c.exitCode, String(c.stderr)).toBe(0);
    expect((await api.docker(['start', 'lim'])).exitCode).toBe(0);
    const insp = JSON.parse((await api.docker(['inspect', 'lim'])).stdout)[0];
    expect([insp.HostConfig.Memory, insp.HostConfig.PidsLimit, insp.HostConfig.NanoCpus]).toEqual([64 * 1024 * 1024, 20, 5e8]);
    expect(insp.HostConfig.CapAdd).toEqual(['CHOWN']);
    const v2 = host.cgroup.version === 'v2';
    expect(readFileSync(`${cgroupDir(insp.Id, 'memory')}/${v2 ? 'memory.max' : 'memory.limit_in_bytes'}`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(`${cgroupDir(insp.Id, 'pids')}/pids.max`, 'utf8').trim()).toBe('20');
    expect(insp.HostConfig.CpuShares).toBe(512);
    // v2's cpu.weight is the kernel's mapping of v1's shares: 512 is 20
    expect(readFileSync(`${cgroupDir(insp.Id, 'cpu')}/${v2 ? 'cpu.weight' : 'cpu.shares'}`, 'utf8').trim()).toBe(v2 ? '20' : '512');
    const caps = (await api.docker(['exec', 'lim', 'sh', '-c', 'grep CapEff /proc/self/status'])).stdout;
    expect(caps).toMatch(/CapEff:\s+0000000000000001/); // CHOWN only
    for (const [flags, field] of [
      [['--privileged'], 'HostConfig.Privileged'],
      [['--cap-add', 'ALL'], 'HostConfig.CapAdd ALL'],
      [['--device', '/dev/null'], 'HostConfig.Devices'],
    ] as const) {
      const r = await api.docker(['run', '--rm', ...flags, 'host', 'true']);
      expect(r.exitCode, field).toBe(125);
      expect(r.stderr).toContain(`${field} is not supported by codex32`);
    }
    // MemorySwap: memory plus swap, as docker takes it; below Memory refused in docker's words
    const swap = await api.docker(['run', '-d', '--name', 'swap', '--memory', '64m', '--memory-swap', '128m', 'host', 'sleep', '300']);
    expect(swap.exitCode, swap.stderr).toBe(0);
    const memDir = cgroupDir(swap.stdout.trim(), 'memory');
    expect(readFileSync(`${memDir}/${v2 ? 'memory.swap.max' : 'memory.memsw.limit_in_bytes'}`, 'utf8').trim()).toBe(String((v2 ? 64 : 128) * 1024 * 1024));
    const low = await api.docker(['run', '--rm', '--memory', '64m', '--memory-swap', '32m', 'host', 'true']);
    expect([low.exitCode, low.stderr]).toEqual([125, expect.stringContaining('Minimum memoryswap limit should be larger than memory limit')]);
    expect((await api.docker(['rm', '-f', 'lim', 'box', 'swap'])).exitCode).toBe(0);
    expect((await api.docker(['ps', '-aq'])).stdout).toBe('');
  }, 120_000 * SLOWDOWN);

  // a current client (28.x) where this machine has one: Debian has none to install, so absent means skipped
  const CURRENT = '/usr/local/bin/docker';
  it.skipIf(!existsSync(CURRENT))(`serves a current docker CLI too, negotiated down to 1.43${existsSync(CURRENT) ? '' : ' (skipped: no docker CLI at /usr/local/bin)'}`, async () => {
    const env = { DOCKER_HOST: api.dockerEnv.DOCKER_HOST, DOCKER_CONFIG: api.dockerEnv.DOCKER_CONFIG };
    const run = (args: string[]) => execa(CURRENT, args, { env, reject: false });
    expect((await run(['version', '--format', '{{.Server.APIVersion}}'])).stdout).toBe('1.43');
    const r = await run(['run', '--rm', '--network', 'none', 'host', 'sh', '-c', 'echo new client; exit 4']);
    expect([r.exitCode, r.stdout]).toEqual([4, 'new client']);
    expect((await run(['run', '-d', '--name', 'n28', '--network', 'none', 'host', 'sleep', '60'])).exitCode).toBe(0);
    const e = await run(['exec', 'n28', 'sh', '-c', 'echo x; exit 3']);
    expect([e.exitCode, e.stdout]).toEqual([3, 'x']);
    expect((await run(['rm', '-f', 'n28'])).exitCode).toBe(0);
  });

  it('keeps containers running when the service stops, and refuses a second service on the same socket', async () => {
    expect((await api.docker(['run', '-d', '--name', 'outlive', 'host', 'sleep', '300'])).exitCode).toBe(0);
    const second = await api.cli(['system', 'service', '--socket', api.socket]);
    expect(second.exitCode).toBe(125);
    expect(second.stderr).toContain('Another server is listening on');
    expect(statSync(api.socket).mode & 0o777).toBe(0o660);
    api.service.kill('SIGTERM');
    await api.service;
    expect(existsSync(api.socket)).toBe(false);
    expect(JSON.parse(String((await api.cli(['inspect', 'outlive'])).stdout))[0].State.Running).toBe(true);
    expect((await api.cli(['rm', '-f', 'outlive'])).exitCode).toBe(0);
  });

  it('serves the same API beside the bot runner with serve --docker-socket', async () => {
    const socket = join(work, 'serve-docker.sock');
    const svc = execa('node', [BIN, 'serve', '--port', '0', '--token', 't0k', '--docker-socket', socket], { env: api.env, reject: false });
    try {
      await until(() => existsSync(socket), 30_000);
      const env = { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(work, 'docker-config') };
      const r = await execa(DOCKER, ['run', '--rm', '--network', 'none', 'host', 'echo', 'beside the bots'], { env, reject: false });
      expect([r.exitCode, r.stdout]).toEqual([0, 'beside the bots']);
    } finally {
      svc.kill('SIGTERM');
      await svc;
    }
  });

});
