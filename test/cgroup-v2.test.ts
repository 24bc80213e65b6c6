// cgroup v2 under systemd, the way systemd expects: containers' cgroups only below a delegated unit,
// no process in a cgroup that enables controllers for its children, the limits in v2's files, and
// nothing written into systemd's own tree. Runs where systemd manages a cgroup v2 host (the guest pass).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { describeV2Parent, systemdRuns } from '../src/runtime/cgroup-parent.js';
import { cgroupDir, host, sandbox, until } from './helpers.js';

const why = host.cgroup.version !== 'v2' ? `cgroups are ${host.cgroup.version}, not v2` : !systemdRuns() ? 'systemd does not run this host' : !host.root ? 'not root' : undefined;
const sb = sandbox();
afterAll(() => sb.clean());
const { cli, inspect } = sb;
const root = host.cgroup.unified ?? '/sys/fs/cgroup';
const lines = (f: string) => readFileSync(f, 'utf8').split(/\s+/).filter(Boolean);

describe.skipIf(!!why)(`cgroup v2 under systemd${why ? ` (skipped: ${why})` : ''}`, () => {
  it('info names systemd as the manager and the delegated subtree', async () => {
    const r = await cli(['info']);
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toMatch(/^Cgroup v2 manager:\s+systemd; delegated subtree: \/\S+\.(scope|service) \(.*Delegate=yes.*\)$/m);
  });

  it('puts a container under the delegated unit with its limits in v2 files, and none in systemd\'s tree', async () => {
    const r = await cli(['run', '-d', '--name', 'v2', '--memory', '64m', '--pids', '32', '--cpus', '0.5', '--cpu-shares', '512', 'host', 'sleep', '300']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const doc = await inspect('v2');
    const dir = cgroupDir(doc.Id);
    const unit = `${root}${describeV2Parent().delegated}`;
    expect(dir.startsWith(`${unit}/`)).toBe(true);
    expect(existsSync(`${root}/codex32/${doc.Id}`)).toBe(false);
    // the container's process is in that cgroup, per the kernel
    const pid = doc.State.Pid as number;
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(dir.slice(root.length));
    expect(readFileSync(`${dir}/memory.max`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(`${dir}/memory.swap.max`, 'utf8').trim()).toBe('0');
    expect(readFileSync(`${dir}/pids.max`, 'utf8').trim()).toBe('32');
    expect(readFileSync(`${dir}/cpu.max`, 'utf8').trim()).toBe('50000 100000');
    expect(readFileSync(`${dir}/cpu.weight`, 'utf8').trim()).toBe('20');
    // the no-internal-process rule: the unit and the containers' parent hold no process themselves
    expect(lines(`${unit}/cgroup.procs`)).toEqual([]);
    expect(lines(`${dir}/../cgroup.procs`)).toEqual([]);
    for (const c of ['memory', 'pids', 'cpu']) expect(lines(`${dir}/../cgroup.subtree_control`)).toContain(c);
    // codex32's own scope caps no task count: each container has its own --pids
    if (unit.endsWith('/codex32.scope')) expect(readFileSync(`${unit}/pids.max`, 'utf8').trim()).toBe('max');
    // and systemd still sees its unit running
    expect(lines(`${unit}/cgroup.events`).join(' ')).toContain('populated 1');
    await cli(['rm', '-f', 'v2']);
    await until(() => !existsSync(dir), 10_000);
  });

  it('stops a container through cgroup.kill and pauses it through cgroup.freeze', async () => {
    await cli(['run', '-d', '--name', 'tree', 'host', 'sh', '-c', 'sleep 301 & sleep 302 & sleep 303']);
    const dir = cgroupDir((await inspect('tree')).Id);
    expect(existsSync(`${dir}/cgroup.kill`)).toBe(true);
    expect((await cli(['pause', 'tree'])).exitCode).toBe(0);
    expect(readFileSync(`${dir}/cgroup.freeze`, 'utf8').trim()).toBe('1');
    expect((await cli(['unpause', 'tree'])).exitCode).toBe(0);
    expect(readFileSync(`${dir}/cgroup.freeze`, 'utf8').trim()).toBe('0');
    const procs = lines(`${dir}/cgroup.procs`);
    expect(procs.length).toBeGreaterThanOrEqual(3);
    expect((await cli(['stop', '-t', '1', 'tree'])).exitCode).toBe(0);
    for (const p of procs) expect(existsSync(`/proc/${p}`) && !readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z')).toBe(false);
    await cli(['rm', '-f', 'tree']);
  });

  it('counts an OOM kill from memory.events', async () => {
    const r = await cli(['run', '--name', 'oom', '--memory', '32m', 'host', 'python3', '-c', 'b = []\nwhile True: b.append(bytearray(1 << 20))']);
    expect(r.exitCode).toBe(137);
    expect((await inspect('oom')).State.OOMKilled).toBe(true);
    await cli(['rm', '-f', 'oom']);
  });
});
