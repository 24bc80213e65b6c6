// The fork server (codex32-shim launcher) through the library: which process launches the shims, what
// happens when the fork server dies, that its shims are reaped, and that the CLI never starts one.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { useLauncher } from '../src/runtime/launcher.js';
import { outcomeFromState, startOutcome } from '../src/runtime/shim-launch.js';
import { shimPath } from '../src/runtime/supervisor.js';
import { RUN_FILES } from '../src/runtime/contract.js';
import { pidsWith, sandbox, until } from './helpers.js';

const storage = mkdtempSync(join(tmpdir(), 'c32-launcher-'));
const engine = new ContainerEngine({ storageDir: storage });
afterAll(async () => {
  for (const c of await engine.list({ all: true })) await engine.remove(c.id, { force: true });
  engine.close();
  rmSync(storage, { recursive: true, force: true });
});

const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const shimOf = (id: string) => engine.store.getContainer(id)!.state.shim!.pid;

describe('the fork server', () => {
  it('launches the shims of a long-lived engine, each as `codex32-shim run RUNDIR`', async () => {
    useLauncher(true);
    const c = await engine.create({ image: 'host', command: ['sleep', '30'], isolation: 'minimal' });
    await c.start();
    const shim = shimOf(c.id);
    const parent = ppid(shim);
    expect(parent).not.toBe(process.pid);
    // its name for the shims, and the abstract socket its other commands' stdio connects to
    expect(cmdline(parent).slice(1)).toEqual(['launcher', cmdline(parent)[2], expect.stringMatching(/^codex32-\d+-[0-9a-f]{16}$/)]);
    // the name and arguments the engine finds its shims by, as with a direct spawn
    expect(cmdline(shim).slice(1)).toEqual(['run', engine.paths(c.id).dir]);
    await c.stop(0);
    expect(await c.wait()).not.toBe(0);
    // ended shims are reaped by the fork server, never left as zombies that look alive
    await until(() => !existsSync(`/proc/${shim}`), 5000);
  });

  it('reports exit codes, a command that is not found and a failed start as a direct launch does', async () => {
    useLauncher(true);
    const ok = await engine.create({ image: 'host', command: ['sh', '-c', 'exit 7'], isolation: 'minimal' });
    await ok.start();
    expect(await ok.wait()).toBe(7);
    const nf = await engine.create({ image: 'host', command: ['no-such-command-xyz'], isolation: 'minimal' });
    await expect(nf.start()).rejects.toMatchObject({ code: 'COMMAND_NOT_FOUND' });
  });

  it('starts a command that ends at once even when this process reads the report late', async () => {
    useLauncher(true);
    for (let i = 0; i < 5; i++) {
      const c = await engine.create({ image: 'host', command: ['true'], isolation: 'minimal' });
      // a busy event loop: the shim reports, its command ends and the fork server reaps it before we read a line
      const blocker = setInterval(() => {
        const end = Date.now() + 40;
        while (Date.now() < end) {
          /* busy */
        }
      }, 1);
      try {
        await c.start();
      } finally {
        clearInterval(blocker);
      }
      expect(await c.wait()).toBe(0);
    }
  });

  it('is started again when it died; the containers it launched run on', async () => {
    useLauncher(true);
    const a = await engine.create({ image: 'host', command: ['sleep', '30'], isolation: 'minimal' });
    await a.start();
    const server = ppid(shimOf(a.id));
    process.kill(server, 'SIGKILL');
    await until(() => !pidsWith(`launcher`).includes(server), 5000);
    const b = await engine.create({ image: 'host', command: ['sleep', '30'], isolation: 'minimal' });
    await b.start();
    expect((await a.inspect()).State.Running).toBe(true); // orphaned by the fork server, not by its engine
    expect(ppid(shimOf(b.id))).not.toBe(server); // spawned directly if the dead one had not been noticed yet
    await b.stop(0);
    const c = await engine.create({ image: 'host', command: ['sleep', '30'], isolation: 'minimal' });
    await c.start();
    const next = ppid(shimOf(c.id));
    expect(next).not.toBe(server);
    expect(cmdline(next)[1]).toBe('launcher'); // a new fork server
    await c.stop(0);
    await a.stop(0);
  });

  it('spawns a shim held while the start is prepared, and a failed preparation leaves no shim behind', async () => {
    useLauncher(true);
    const script = join(storage, 'bot.sh');
    writeFileSync(script, 'exit 3\n');
    const c = await engine.create({ image: script, command: ['sh', 'bot.sh'], isolation: 'minimal' });
    const dir = engine.paths(c.id).dir;
    rmSync(script); // the image is resolved after the held shim was spawned: the start fails there
    await expect(c.start()).rejects.toMatchObject({ code: 'NO_SUCH_IMAGE' });
    expect(engine.store.getContainer(c.id)!.status).toBe('created');
    await until(() => pidsWith(`run\0${dir}\0`).length === 0, 5000); // the held shim was cancelled
    for (const f of ['state', 'shim.err', 'exits']) expect(existsSync(join(dir, f))).toBe(false); // and did nothing
    writeFileSync(script, 'exit 3\n');
    await c.start();
    expect(await c.wait()).toBe(3);
  });

  it('speaks the held protocol: H spawns and waits, C cancels it, and stdin closing cancels the rest', async () => {
    const dir = mkdtempSync(join(storage, 'held-'));
    const server = spawn(shimPath(), ['launcher', shimPath()], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    server.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const line = (re: RegExp) => until(() => re.test(out), 5000).then(() => re.exec(out)!);
    server.stdin.write(`1 H ${dir}\n2 H ${dir}\n`);
    const [, one] = await line(/^1 P (\d+) \d+$/m);
    const [, two] = await line(/^2 P (\d+) \d+$/m);
    await new Promise((r) => setTimeout(r, 100));
    // both wait, alive, before reading anything: no spec exists, yet neither has failed
    expect(existsSync(`/proc/${one}`) && existsSync(`/proc/${two}`)).toBe(true);
    expect(out).not.toMatch(/^[12] [LE]/m);
    server.stdin.write('1 C\n');
    await line(/^1 E$/m);
    expect(out).not.toMatch(/^1 L/m); // cancelled: no report at all
    server.stdin.end(); // nobody left to release the second: it is cancelled too, and the server exits
    await line(/^2 E$/m);
    await new Promise((r) => (server.exitCode === null ? server.once('exit', r) : r(undefined)));
    await until(() => !existsSync(`/proc/${one}`) && !existsSync(`/proc/${two}`), 5000);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a start whose report was cut short takes its outcome from what the shim recorded', async () => {
    // the fork server relaying a report can die after the shim started the container: the container
    // must then be recorded as started, never reported failed and left running unrecorded
    const up = await engine.create({ image: 'host', command: ['sleep', '30'], isolation: 'minimal' });
    await up.start();
    const row = engine.store.getContainer(up.id)!;
    expect(await outcomeFromState(engine.paths(up.id).dir, row.state.shim!)).toEqual({ ok: true, shim: row.state.shim, init: row.state.init });
    await up.stop(0);
    // its command was not found: the shim recorded why, and has gone
    const nf = await engine.create({ image: 'host', command: ['no-such-command-xyz'], isolation: 'minimal' });
    await expect(nf.start()).rejects.toMatchObject({ code: 'COMMAND_NOT_FOUND' });
    const failed = engine.store.getContainer(nf.id)!;
    await until(() => !existsSync(`/proc/${failed.state.shim!.pid}`), 5000);
    expect(await outcomeFromState(engine.paths(nf.id).dir, failed.state.shim!)).toMatchObject({ ok: false, exitCode: 127 });
    // a command that ran and ended before anyone looked started all the same
    const done = await engine.create({ image: 'host', command: ['true'], isolation: 'minimal' });
    await done.start();
    expect(await done.wait()).toBe(0);
    const ended = engine.store.getContainer(done.id)!;
    expect(await outcomeFromState(engine.paths(done.id).dir, ended.state.shim!)).toMatchObject({ ok: true, init: ended.state.init });
  });

  it('a shim killed after its run began but before its report has still started the container', async () => {
    // the soak's lost run: reported as a failed start, the run the bot counted was in no history, and
    // the next start reused its number. Its state file says the run began; a reconcile then cuts it short.
    const c = await engine.create({ image: 'host', command: ['sleep', '30'], isolation: 'minimal' });
    await c.start();
    const dir = engine.paths(c.id).dir;
    const row = engine.store.getContainer(c.id)!;
    process.kill(row.state.shim!.pid, 'SIGKILL');
    // gone, or a zombie its parent has yet to reap (which can happen between two reads: one read, caught)
    const ended = () => {
      try {
        return readFileSync(`/proc/${row.state.shim!.pid}/stat`, 'utf8').includes(') Z ');
      } catch {
        return true;
      }
    };
    await until(ended, 5000);
    // what the engine hears when the report line never came
    expect(startOutcome(dir, row.state.shim, '')).toEqual({ ok: true, shim: row.state.shim, init: row.state.init });
    const after = await engine.inspect(c.id);
    expect(after.State.Status).toBe('dead');
    expect(engine.store.listRuns(c.id).map((r) => [r.run, r.reason])).toEqual([[1, 'supervisor-lost']]);
    // with no run begun (no state file) it is a failed start, with the shim's last word
    rmSync(`${dir}/${RUN_FILES.state}`, { force: true });
    expect(startOutcome(dir, row.state.shim, '')).toMatchObject({ ok: false, exitCode: 125 });
  });

  it('is off when asked: the engine spawns each shim itself', async () => {
    useLauncher(false);
    try {
      const c = await engine.create({ image: 'host', command: ['sleep', '30'], isolation: 'minimal' });
      await c.start();
      expect(ppid(shimOf(c.id))).toBe(process.pid);
      await c.stop(0);
    } finally {
      useLauncher(true);
    }
  });

  it('is never started by a one-shot CLI command: the CLI spawns its shim itself', async () => {
    const sb = sandbox('c32-launcher-cli-');
    try {
      // minimal sees the host's /proc: the command's parent is the shim, and the shim's parent the CLI
      const r = await sb.cli(['run', '--rm', '--isolation', 'minimal', 'host', 'sh', '-c', 'tr "\\0" " " < /proc/$(cut -d" " -f4 /proc/$PPID/stat)/cmdline']);
      expect(r.exitCode).toBe(0);
      expect(String(r.stdout)).toContain('bin/codex32 run');
      expect(String(r.stdout)).not.toContain('launcher');
    } finally {
      await sb.clean();
    }
  });
});
