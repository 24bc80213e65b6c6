// The supervisor's records as the engine reads them: a record a full disk left empty or torn reads as none.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readExits, readShimState } from './supervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'c32-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readShimState and readExits', () => {
  it('read a whole record, padded or not', () => {
    writeFileSync(join(dir, 'state'), 'exited 12 345 2 1 none 0 1700000000000      \n');
    expect(readShimState(dir)).toMatchObject({ phase: 'exited', init: { pid: 12, start: '345' }, run: 2, restarts: 1, health: 'none', runStartedAt: 1700000000000 });
    writeFileSync(join(dir, 'exits'), '1 10 20 0 0 0 completed\n2 30 40 137 9 1 oom\n');
    expect(readExits(dir).map((e) => [e.run, e.exitCode, e.oom, e.reason])).toEqual([[1, 0, false, 'completed'], [2, 137, true, 'oom']]);
  });

  it('take an empty or torn state as none, and skip a torn exit line', () => {
    for (const torn of ['', 'exi', 'running 12 34', 'running 12 345 2 x none 0 1']) {
      writeFileSync(join(dir, 'state'), torn);
      expect(readShimState(dir), JSON.stringify(torn)).toBeUndefined();
    }
    writeFileSync(join(dir, 'exits'), '1 10 20 0 0 0 completed\n2 30 4');
    expect(readExits(dir).map((e) => e.run)).toEqual([1]);
    writeFileSync(join(dir, 'exits'), '1 10 20 0 0 0 completed\n2 30 x 1 0 0 failed\n');
    expect(readExits(dir).map((e) => e.run)).toEqual([1]);
  });
});
