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
});
