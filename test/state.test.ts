// State that cannot be lost: a damaged or deleted state.db is repaired from the container directories;
// a full storage directory gives STATE_UNAVAILABLE with what to free; no error prints a stack trace.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, host, pidsWith, sandbox, until } from './helpers.js';

const STACK = /\n\s+at .+:\d+/;
const level = host.levels.standard.supported ? 'standard' : 'minimal';

interface PsRow { Name: string; Status: string; ExitCode: number | null; Pid: number }

/** Start the containers every scenario uses; marker names their processes. */
async function populate(sb: ReturnType<typeof sandbox>, marker: string) {
  const run = async (args: string[], code = 0) => {
    const r = await sb.cli(args);
    expect(r.exitCode, String(r.stderr)).toBe(code);
  };
  await run(['run', '-d', '--name', 'up-min', '--isolation', 'minimal', 'host', 'sh', '-c', `echo hello-min; exec sleep 300 # ${marker}`]);
  await run(['run', '-d', '--name', 'up-std', '--isolation', level, 'host', 'sh', '-c', `echo hello-std; exec sleep 301 # ${marker}`]);
  await run(['run', '--name', 'gone', '--isolation', 'minimal', 'host', 'sh', '-c', 'echo bye; exit 3'], 3);
  await run(['create', '--name', 'fresh', '--isolation', 'minimal', 'host', 'true']);
  await run(['run', '-d', '--name', 'doomed', '--isolation', level, 'host', 'sh', '-c', `trap '' TERM; sleep 302 # ${marker}`]);
  const before = await sb.json<PsRow[]>(['ps', '-a', '--json']);
  return new Map(before.map((r) => [r.Name, r]));
}

/** The cgroups the database records for each running container: what stats and stop read. */
function recordedCgroups(sb: ReturnType<typeof sandbox>): Record<string, unknown> {
  const db = new Database(join(sb.storage, 'state.db'), { readonly: true });
  try {
    const rows = db.prepare("SELECT name, state FROM containers WHERE name LIKE 'up-%' ORDER BY name").all() as Array<{ name: string; state: string }>;
    return Object.fromEntries(rows.map((r) => [r.name, (JSON.parse(r.state) as { cgroups?: unknown }).cgroups]));
  } finally {
    db.close();
  }
}

/** After repair: every container listed with its true status, logs, stop and rm -f work, nothing left running. */
async function provesRepaired(sb: ReturnType<typeof sandbox>, before: Map<string, PsRow>, marker: string, cgroups: Record<string, unknown>) {
  // the same cgroups, CPU accounting included: without it stats fell back to reading each process
  expect(recordedCgroups(sb)).toEqual(cgroups);
  const after = new Map((await sb.json<PsRow[]>(['ps', '-a', '--json'])).map((r) => [r.Name, r]));
  expect([...after.keys()].sort()).toEqual(['fresh', 'gone', 'up-min', 'up-std']);
  expect(after.get('up-min')).toMatchObject({ Status: 'running', Pid: before.get('up-min')!.Pid });
  expect(after.get('up-std')).toMatchObject({ Status: 'running', Pid: before.get('up-std')!.Pid });
  expect(after.get('gone')).toMatchObject({ Status: 'exited', ExitCode: 3 });
  expect(after.get('fresh')).toMatchObject({ Status: 'created' });
  expect((await sb.inspect('gone')).State.FinishedAt).toBeTruthy();
  expect(String((await sb.cli(['logs', 'up-min'])).stdout)).toBe('hello-min');
  expect(String((await sb.cli(['logs', 'up-std'])).stdout)).toBe('hello-std');
  expect((await sb.cli(['stop', '-t', '1', 'up-min'])).exitCode).toBe(0);
  expect((await sb.inspect('up-min')).State.Status).toBe('exited');
  expect((await sb.cli(['start', 'fresh'])).exitCode).toBe(0);
  expect((await sb.cli(['rm', '-f', 'up-std', 'up-min', 'gone', 'fresh'])).exitCode).toBe(0);
  await until(() => pidsWith(marker).length === 0, 10_000);
  expect(readdirSync(join(sb.storage, 'containers'))).toEqual([]);
  expect((await sb.cli(['system', 'check'])).exitCode).toBe(0);
}

describe('state repair', () => {
  const sbs: Array<ReturnType<typeof sandbox>> = [];
  afterAll(async () => {
    for (const sb of sbs) await sb.clean();
  });

  it('a database damaged while containers run: clear errors, rm -f from disk, then repair restores every container', async () => {
    const sb = sandbox();
    sbs.push(sb);
    const marker = `c32-damaged-${process.pid}`;
    const before = await populate(sb, marker);
    const cgroups = recordedCgroups(sb);
    const doomedNet = `/sys/class/net/c32-${String((await sb.inspect('doomed')).Id).slice(0, 11)}`; // its veth
    if (level === 'standard') expect(existsSync(doomedNet)).toBe(true); // a private network at standard
    const fd = openSync(join(sb.storage, 'state.db'), 'r+');
    const junk = randomBytes(200);
    junk[0] = 0xff; // not a page type, so the damage cannot pass for a valid page by chance
    writeSync(fd, junk, 0, 200, 4096);
    closeSync(fd);

    for (const args of [['ps', '-a'], ['logs', 'up-min'], ['stop', 'up-min'], ['inspect', 'gone'], ['start', 'fresh'], ['run', '--rm', 'host', 'true']]) {
      const r = await sb.cli(args);
      expect(r.exitCode, args.join(' ')).toBe(125);
      expect(String(r.stderr), args.join(' ')).toContain('[STATE_CORRUPT]');
      expect(String(r.stderr)).toContain('codex32 system repair');
      expect(String(r.stderr)).not.toMatch(STACK);
    }
    // a running container can still be removed: its supervisor and processes are found from its directory
    const rm = await sb.cli(['rm', '-f', 'doomed']);
    expect(rm.exitCode, String(rm.stderr)).toBe(0);
    await until(() => !pidsWith(`sleep 302 # ${marker}`).length, 10_000);
    expect(existsSync(doomedNet), 'its private network is taken down too').toBe(false);

    const check = await sb.cli(['system', 'check']);
    expect(check.exitCode).toBe(1);
    expect(String(check.stdout)).toMatch(/integrity\s+FAILED/);
    const repair = await sb.cli(['system', 'repair']);
    expect(repair.exitCode, String(repair.stderr)).toBe(0);
    expect(String(repair.stdout)).toContain('kept the damaged database as');
    expect(readdirSync(sb.storage).some((f) => f.startsWith('state.db.corrupt-'))).toBe(true);
    await provesRepaired(sb, before, marker, cgroups);
  });

  it('a deleted database is refused, not silently recreated, and repair brings every container back', async () => {
    const sb = sandbox();
    sbs.push(sb);
    const marker = `c32-deleted-${process.pid}`;
    const before = await populate(sb, marker);
    expect((await sb.cli(['rm', '-f', 'doomed'])).exitCode).toBe(0);
    const cgroups = recordedCgroups(sb);
    expect(Object.keys(cgroups)).toEqual(['up-min', 'up-std']);
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) rmSync(join(sb.storage, f), { force: true });
    const ps = await sb.cli(['ps', '-a']);
    expect(ps.exitCode).toBe(125);
    expect(String(ps.stderr)).toContain('is missing');
    expect(String(ps.stderr)).not.toMatch(STACK);
    expect(existsSync(join(sb.storage, 'state.db'))).toBe(false);
    const check = await sb.cli(['system', 'check', '--json']);
    expect(check.exitCode).toBe(1);
    expect(JSON.parse(String(check.stdout))).toMatchObject({ exists: false, healthy: false });
    expect((await sb.cli(['system', 'repair'])).exitCode).toBe(0);
    await provesRepaired(sb, before, marker, cgroups);
  });

  it('a closed pipe ends logs and ps quietly with exit 0', async () => {
    const sb = sandbox();
    sbs.push(sb);
    await sb.cli(['run', '--name', 'chatty', '--isolation', 'minimal', 'host', 'seq', '1', '50000']);
    for (const cmd of ['logs chatty', 'ps -a']) {
      const r = await execa('bash', ['-c', `node ${BIN} ${cmd} | head -1; echo "rc=\${PIPESTATUS[0]}"`], { env: sb.env, reject: false });
      expect(String(r.stdout), cmd).toMatch(/rc=0$/);
      expect(String(r.stderr), cmd).toBe('');
    }
  });
});

describe('a full storage directory', () => {
  const dir = join('/tmp', `c32-full-${process.pid}`);
  const canMount = process.getuid?.() === 0;
  afterAll(async () => {
    await execa('umount', ['-l', dir], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!canMount && process.env.CI !== 'true')('ps, stop, start and run say STATE_UNAVAILABLE with what to free; nothing half-written', async () => {
    mkdirSync(dir, { recursive: true });
    expect((await execa('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir], { reject: false })).exitCode).toBe(0);
    const sb = sandbox();
    const cli = (args: string[]) => sb.cli(args, { env: { ...sb.env, CONTAINER_STORAGE_DIR: dir } });
    const marker = `c32-full-${process.pid}`;
    expect((await cli(['run', '-d', '--name', 'busy', '--isolation', 'minimal', 'host', 'sh', '-c', `exec sleep 300 # ${marker}`])).exitCode).toBe(0);
    expect((await cli(['run', '--name', 'idle', '--isolation', 'minimal', 'host', 'true'])).exitCode).toBe(0);
    const dirsBefore = readdirSync(join(dir, 'containers')).sort();
    // fill it, then give back a little: "nearly full", the case that used to half-write
    await execa('dd', ['if=/dev/zero', `of=${dir}/filler`, 'bs=4k'], { reject: false });
    for (const leave of [0, 48, 200]) {
      if (leave) await execa('truncate', ['-s', `-${leave}K`, `${dir}/filler`]);
      for (const args of [['ps', '-a'], ['stop', 'busy'], ['start', 'idle'], ['run', '--rm', '--isolation', 'minimal', 'host', 'true'], ['run', '-d', '--isolation', 'minimal', 'host', 'true']]) {
        const r = await cli(args);
        const what = `${args.join(' ')} with ${leave}K given back`;
        expect(String(r.stderr), what).not.toMatch(STACK);
        expect(String(r.stderr), what).not.toContain('STATE_CORRUPT');
        if (r.exitCode !== 0) {
          expect(r.exitCode, what).toBe(125);
          expect(String(r.stderr), what).toContain('[STATE_UNAVAILABLE]');
          expect(String(r.stderr), what).toContain('codex32 prune');
          expect(String(r.stderr), what).toContain(`${dir}/containers/*/container.log*`);
        }
      }
    }
    rmSync(`${dir}/filler`);
    const rows = await sb.json<PsRow[]>(['--storage', dir, 'ps', '-a', '--json']);
    expect(rows.filter((r) => r.Status === 'created')).toEqual([]);
    expect(rows.map((r) => r.Name).sort()).toEqual(['busy', 'idle']);
    expect(readdirSync(join(dir, 'containers')).sort()).toEqual(dirsBefore);
    expect((await cli(['system', 'check'])).exitCode).toBe(0);
    expect((await cli(['rm', '-f', 'busy', 'idle'])).exitCode).toBe(0);
    await until(() => pidsWith(marker).length === 0, 10_000);
    rmSync(sb.storage, { recursive: true, force: true });
  });

  it.skipIf(!canMount && process.env.CI !== 'true')('a read-only storage directory is STATE_UNAVAILABLE naming the remount, never corrupt', async () => {
    const sb = sandbox();
    const marker = `c32-ro-${process.pid}`;
    expect((await sb.cli(['run', '-d', '--name', 'ro', '--isolation', 'minimal', 'host', 'sh', '-c', `exec sleep 300 # ${marker}`])).exitCode).toBe(0);
    expect((await execa('mount', ['--bind', sb.storage, sb.storage], { reject: false })).exitCode).toBe(0);
    try {
      expect((await execa('mount', ['-o', 'remount,ro,bind', sb.storage], { reject: false })).exitCode).toBe(0);
      for (const args of [['ps'], ['stop', 'ro'], ['run', '--rm', '--isolation', 'minimal', 'host', 'true']]) {
        const r = await sb.cli(args);
        expect(r.exitCode, args.join(' ')).toBe(125);
        expect(String(r.stderr)).toContain('[STATE_UNAVAILABLE]');
        expect(String(r.stderr)).toContain('read-only');
        expect(String(r.stderr)).not.toMatch(STACK);
      }
    } finally {
      await execa('umount', [sb.storage], { reject: false });
    }
    expect((await sb.cli(['rm', '-f', 'ro'])).exitCode).toBe(0);
    await until(() => pidsWith(marker).length === 0, 10_000);
    rmSync(sb.storage, { recursive: true, force: true });
  });
});

describe('system repair keeps what no directory can rebuild', () => {
  const sbs: Array<ReturnType<typeof sandbox>> = [];
  afterAll(async () => {
    for (const sb of sbs) await sb.clean();
  });

  it.skipIf(!existsSync('/bin/busybox') || !host.levels.standard.supported)('OCI images with their tags, named volumes and user networks survive a forced repair, and the image runs', async () => {
    const sb = sandbox();
    sbs.push(sb);
    const ok = async (args: string[]) => {
      const r = await sb.cli(args);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      return String(r.stdout);
    };
    // an OCI image of the host's static busybox, built FROM scratch (no registry needed)
    const ctx = join(sb.storage, 'ctx');
    mkdirSync(ctx);
    copyFileSync('/bin/busybox', join(ctx, 'busybox'));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\n');
    await ok(['build', '-q', '-t', 'kept/image:1', ctx]);
    await ok(['volume', 'create', 'kept-data']);
    await ok(['network', 'create', 'kept-net']);
    expect(await ok(['system', 'repair', '--force'])).toContain('kept the damaged database as');
    expect(await ok(['images'])).toMatch(/kept\/image\s+1/);
    expect(await ok(['volume', 'ls', '-q'])).toContain('kept-data');
    expect(await ok(['network', 'ls'])).toContain('kept-net');
    expect(await ok(['run', '--rm', '--isolation', 'standard', 'kept/image:1', 'echo', 'ran'])).toContain('ran');
  });
});
