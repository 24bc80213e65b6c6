// cgroups v1 and v2 against fake cgroupfs trees (this host's real v1 is exercised by the integration tests).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupLimitsFor, cgroupMemory, checkCgroupLimits, createCgroups, missingControllers } from './cgroups.js';
import { probeCgroups } from './probe.js';

const scratch = mkdtempSync(join(tmpdir(), 'c32-cg-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function fakeV2(): string {
  const root = mkdtempSync(join(scratch, 'cg2-'));
  writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  writeFileSync(join(root, 'cgroup.procs'), '');
  return root;
}

function fakeV1(): string {
  const root = mkdtempSync(join(scratch, 'cg1-'));
  for (const c of ['memory', 'pids', 'cpu']) {
    mkdirSync(join(root, c));
    writeFileSync(join(root, c, 'cgroup.procs'), '');
  }
  return root;
}

describe('cgroups', () => {
  it('probes a v2 tree and writes memory.max, swap, pids.max and cpu.max', () => {
    const root = fakeV2();
    const cg = probeCgroups(root);
    expect(cg.version).toBe('v2');
    expect(Object.keys(cg.controllers).sort()).toEqual(['cpu', 'memory', 'pids']);
    // a real cgroupfs creates the interface files itself; the fake tree needs them made
    const dir = join(root, 'codex32', 'abc');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(root, 'codex32', 'cgroup.subtree_control'), '');
    for (const f of ['memory.max', 'memory.swap.max', 'pids.max', 'cpu.max', 'memory.current']) writeFileSync(join(dir, f), 'max');
    const set = createCgroups(cg, 'abc', { memory: 48 * 1024 * 1024, pids: 64, cpus: 0.5 })!;
    expect(set.version).toBe('v2');
    expect(set.dirs).toEqual([dir]);
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe(String(48 * 1024 * 1024));
    expect(readFileSync(join(dir, 'memory.swap.max'), 'utf8')).toBe('0');
    expect(readFileSync(join(dir, 'pids.max'), 'utf8')).toBe('64');
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).toBe('50000 100000');
    expect(set.oomEvents).toBe(join(dir, 'memory.events'));
    writeFileSync(join(dir, 'memory.current'), '1234');
    expect(cgroupMemory(set)).toEqual({ usage: 1234, limit: 48 * 1024 * 1024 });
  });

  it('probes a v1 tree and writes one directory per controller', () => {
    const root = fakeV1();
    const cg = probeCgroups(root);
    expect(cg.version).toBe('v1');
    for (const c of ['memory', 'pids', 'cpu']) mkdirSync(join(root, c, 'codex32', 'abc'), { recursive: true });
    const set = createCgroups(cg, 'abc', { memory: 1 << 26, pids: 10, cpus: 2 })!;
    expect(set.dirs.sort()).toEqual(['cpu', 'memory', 'pids'].map((c) => join(root, c, 'codex32', 'abc')));
    expect(readFileSync(join(root, 'memory', 'codex32', 'abc', 'memory.limit_in_bytes'), 'utf8')).toBe(String(1 << 26));
    expect(readFileSync(join(root, 'pids', 'codex32', 'abc', 'pids.max'), 'utf8')).toBe('10');
    expect(readFileSync(join(root, 'cpu', 'codex32', 'abc', 'cpu.cfs_quota_us'), 'utf8')).toBe('200000');
    expect(set.oomEvents).toBe(join(root, 'memory', 'codex32', 'abc', 'memory.oom_control'));
  });

  it('names the controllers a host lacks', () => {
    const root = mkdtempSync(join(scratch, 'cg0-'));
    const cg = probeCgroups(root);
    expect(cg.version).toBe('none');
    expect(missingControllers(cg, { memory: 1, cpus: 1 })).toEqual(['memory', 'cpu']);
    expect(() => createCgroups(cg, 'x', { pids: 5 })).toThrow(/no usable cgroup pids controller/);
  });

  it('minimal falls back for memory and cpus without their controllers, never for pids', () => {
    const none = probeCgroups(mkdtempSync(join(scratch, 'cg0-')));
    const all = probeCgroups(fakeV1());
    const limits = { memory: 1 << 26, pids: 20, cpus: 0.5 };
    expect(cgroupLimitsFor('minimal', limits, none)).toEqual({ pids: 20 });
    expect(cgroupLimitsFor('minimal', limits, all)).toEqual(limits);
    expect(cgroupLimitsFor('standard', limits, none)).toEqual(limits);
    expect(() => checkCgroupLimits('minimal', { memory: 1 << 26, cpus: 0.5 }, none)).not.toThrow();
    expect(() => checkCgroupLimits('minimal', { pids: 20 }, none)).toThrow(/no usable cgroup pids controller.*RLIMIT_NPROC counts every process of the uid/);
    expect(() => checkCgroupLimits('standard', { memory: 1 << 26 }, none)).toThrow(/no usable cgroup memory controller, which the requested limit needs at standard isolation\./);
    expect(() => checkCgroupLimits('minimal', { pids: 20 }, all)).not.toThrow();
    expect(() => checkCgroupLimits('minimal', { cpuShares: 512 }, none)).toThrow(/no usable cgroup cpu controller/); // a weight has no fallback
  });
});
