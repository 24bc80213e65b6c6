// Reconcile against a real SQLite store and a run directory written the way the supervisor writes it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { procRef } from '../runtime/proc.js';
import { StateStore } from '../state/store.js';
import type { ContainerRow } from '../state/types.js';
import { reconcileRow } from './reconcile.js';

describe('reconcile', () => {
  it('keeps the exit reason when a look falls between the exit record and the final state', () => {
    const dir = mkdtempSync(join(tmpdir(), 'c32-reconcile-'));
    const store = StateStore.open(join(dir, 'state.db'));
    const shim = procRef(process.pid)!; // a live process stands in for the supervisor
    const row: ContainerRow = {
      id: 'a'.repeat(64), name: 'limited', status: 'running', createdAt: Date.now(),
      config: { name: 'limited' } as never, state: { restartCount: 0, runBase: 0, restartBase: 0, shim },
    };
    store.insertContainer(row);
    const state = (phase: string) => writeFileSync(join(dir, 'state'), `${phase} 0 0 1 0 none 0 1000\n`);
    // the supervisor has appended the exit of run 1 but not yet written "exited"
    state('stopping');
    writeFileSync(join(dir, 'exits'), '1 1000 2100 143 15 0 timeout\n');
    const first = store.tx(() => reconcileRow(store, row, dir)).row;
    expect(first.status).toBe('stopping');
    state('exited');
    const last = store.tx(() => reconcileRow(store, first, dir)).row;
    expect(last.status).toBe('exited');
    expect(last.state).toMatchObject({ reason: 'timeout', exitCode: 143, signal: 15, finishedAt: 2100 });
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // a supervisor SIGKILLed at each point of its cycle: the runs it began are all in the history, once
  const lost = (stateLine: string, exits: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'c32-reconcile-'));
    const store = StateStore.open(join(dir, 'state.db'));
    const gone = { pid: process.pid, start: '1' }; // not this process's start time: a dead supervisor
    const row: ContainerRow = {
      id: 'b'.repeat(64), name: 'bot', status: 'running', createdAt: Date.now(),
      config: { name: 'bot', isolation: 'standard', restart: { name: 'always', maxRetries: 0 } } as never,
      state: { restartCount: 0, runBase: 0, restartBase: 0, shim: gone },
    };
    store.insertContainer(row);
    writeFileSync(join(dir, 'state'), stateLine);
    writeFileSync(join(dir, 'exits'), exits);
    const after = store.tx(() => reconcileRow(store, row, dir)).row;
    const runs = store.listRuns(row.id);
    store.close();
    rmSync(dir, { recursive: true, force: true });
    return { after, runs };
  };

  it('records the run a killed supervisor had begun after an exit no look had read yet', () => {
    const { after, runs } = lost('running 0 0 2 1 none 0 3000\n', '1 1000 2000 0 0 0 completed\n');
    expect(runs.map((r) => [r.run, r.reason])).toEqual([[1, 'completed'], [2, 'supervisor-lost']]);
    expect(runs[1]).toMatchObject({ startedAt: 3000, exitCode: 137, signal: 9 });
    expect(after).toMatchObject({ status: 'dead', state: { reason: 'supervisor-lost' } }); // so its policy starts it again
  });

  it('records the run a killed supervisor was in the middle of', () => {
    const { after, runs } = lost('running 0 0 1 0 none 0 1000\n', '');
    expect(runs.map((r) => [r.run, r.reason])).toEqual([[1, 'supervisor-lost']]);
    expect(after.status).toBe('dead');
  });

  it('takes a supervisor killed in a restart backoff for lost, with no run made up', () => {
    const { after, runs } = lost('restarting 0 0 1 1 none 0 1000\n', '1 1000 2000 0 0 0 completed\n');
    expect(runs.map((r) => r.run)).toEqual([1]);
    expect(after).toMatchObject({ status: 'dead', state: { reason: 'supervisor-lost' } });
  });

  it('keeps a final exit final when the supervisor died before writing exited', () => {
    const { after, runs } = lost('stopping 0 0 1 0 none 0 1000\n', '1 1000 2000 143 15 0 stopped\n');
    expect(runs.map((r) => r.run)).toEqual([1]);
    expect(after).toMatchObject({ status: 'exited', state: { reason: 'stopped' } });
  });
});
