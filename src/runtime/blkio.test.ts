// The --blkio-weight probe against fake cgroupfs trees: it looks where a container's cgroup goes, not in
// the root, where cgroup v2 never has io.weight.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { weightUnsupported } from './blkio.js';

const scratch = mkdtempSync(join(tmpdir(), 'c32-blkio-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A v2 root with io available to its children; parentFiles are what HIERARCHY/codex32 shows. */
function fakeV2(parentControllers: string, parentFiles: string[]): string {
  const root = mkdtempSync(join(scratch, 'v2-'));
  writeFileSync(join(root, 'cgroup.controllers'), 'cpu io memory pids\n');
  writeFileSync(join(root, 'cgroup.subtree_control'), 'cpu io memory pids\n'); // the root itself has no io.weight
  mkdirSync(join(root, 'codex32'));
  writeFileSync(join(root, 'codex32', 'cgroup.controllers'), parentControllers);
  for (const f of parentFiles) writeFileSync(join(root, 'codex32', f), 'default 100\n');
  return root;
}

describe('weightUnsupported', () => {
  it('v2: supported when the containers\' parent has io.weight or io.bfq.weight, though the root has neither', () => {
    expect(weightUnsupported({ version: 'v2', root: fakeV2('cpu io memory pids\n', ['io.weight', 'io.max']) })).toBeUndefined();
    expect(weightUnsupported({ version: 'v2', root: fakeV2('io memory\n', ['io.bfq.weight']) })).toBeUndefined();
  });

  it('v2: refused, saying why, without a weight file or with io not enabled for the parent', () => {
    expect(weightUnsupported({ version: 'v2', root: fakeV2('cpu io memory\n', ['io.max', 'io.stat']) })).toMatch(/neither bfq nor cfq \(v1\) or io cost \(v2\)/);
    const root = fakeV2('cpu memory\n', []);
    expect(weightUnsupported({ version: 'v2', root })).toBe(`the io controller is not enabled for ${root}/codex32 (add it to ${root}/cgroup.subtree_control)`);
  });

  it('v1: bfq\'s or cfq\'s weight in the parent (made if missing), or bfq\'s files at the root', () => {
    const root = mkdtempSync(join(scratch, 'v1-'));
    expect(weightUnsupported({ version: 'v1', root })).toMatch(/neither bfq nor cfq/);
    writeFileSync(join(root, 'codex32', 'blkio.bfq.weight'), '100\n');
    expect(weightUnsupported({ version: 'v1', root })).toBeUndefined();
    const bfqRoot = mkdtempSync(join(scratch, 'v1-'));
    writeFileSync(join(bfqRoot, 'blkio.bfq.io_service_bytes'), '');
    expect(weightUnsupported({ version: 'v1', root: bfqRoot })).toBeUndefined();
  });

  it('no controller at all', () => {
    expect(weightUnsupported(undefined)).toMatch(/no usable block I\/O cgroup controller/);
  });
});
