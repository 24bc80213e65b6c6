// The supervisor's spec as buildPlan writes it: here, which limits become rlimits at minimal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { schemas } from '../config/schema.js';
import type { ContainerRow } from '../state/types.js';
import type { CgroupSet } from './cgroups.js';
import { containerPaths } from './layout.js';
import { buildPlan } from './plan.js';

const MB = 1024 * 1024;

function minimalRow(limits: Record<string, number>): ContainerRow {
  const config = schemas().ContainerConfigSchema.parse({ name: 'plan', image: 'host', command: ['true'], isolation: 'minimal', limits });
  return { id: 'a'.repeat(64), name: 'plan', status: 'created', createdAt: Date.now(), config: { ...config, isolation: 'minimal' }, state: { restartCount: 0, runBase: 0, restartBase: 0 } } as ContainerRow;
}

const storage = mkdtempSync(join(tmpdir(), 'c32-plan-'));
afterAll(() => rmSync(storage, { recursive: true, force: true }));

const rlimits = async (cgroups: CgroupSet | undefined, limits: Record<string, number>) => {
  const row = minimalRow(limits);
  const paths = containerPaths(storage, row.id);
  return (await buildPlan(row, { ref: 'host', kind: 'host' }, paths, cgroups)).entries.filter((e) => e.startsWith('rlimit='));
};

describe('minimal --memory', () => {
  const v1 = (controllers: string[]): CgroupSet => ({ dirs: controllers.map((c) => `/sys/fs/cgroup/${c}/codex32/x`), version: 'v1', controllers });

  it('is the memory cgroup alone where the host has one: no address-space cap a V8 or Go runtime cannot start under', async () => {
    expect(await rlimits(v1(['memory', 'pids', 'cpu']), { memory: 64 * MB, nofile: 256 })).toEqual(['rlimit=nofile 256 256']);
  });

  it('falls back to RLIMIT_AS without a memory cgroup, so the limit still holds per process', async () => {
    expect(await rlimits(v1(['pids', 'cpu']), { memory: 64 * MB })).toEqual([`rlimit=as ${64 * MB} ${64 * MB}`]);
    expect(await rlimits(undefined, { memory: 64 * MB })).toEqual([`rlimit=as ${64 * MB} ${64 * MB}`]);
  });
});
