// Where containers' cgroups go on v2: the parts that hold without systemd (a fake tree, the environment).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeV2Parent, ensureV2Parent, ownCgroup } from './cgroup-parent.js';

const scratch = mkdtempSync(join(tmpdir(), 'c32-cgp-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('cgroup v2 parent', () => {
  it('a tree codex32 owns: ROOT/codex32, with only the controllers it uses enabled for children', () => {
    const root = mkdtempSync(join(scratch, 'v2-'));
    writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), 'cpu\n');
    expect(ensureV2Parent(root)).toBe(join(root, 'codex32'));
    // cpu is already enabled: only the others are asked for
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+io +memory +pids');
  });

  it('names this process\'s own cgroup, and an operator\'s CODEX32_CGROUP_PARENT wins', () => {
    expect(ownCgroup()).toMatch(/^\//);
    const before = process.env.CODEX32_CGROUP_PARENT;
    process.env.CODEX32_CGROUP_PARENT = '/my.slice/delegated.scope';
    try {
      expect(describeV2Parent()).toMatchObject({ delegated: '/my.slice/delegated.scope', how: 'CODEX32_CGROUP_PARENT' });
    } finally {
      if (before === undefined) delete process.env.CODEX32_CGROUP_PARENT;
      else process.env.CODEX32_CGROUP_PARENT = before;
    }
  });
});
