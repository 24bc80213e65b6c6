import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { SCHEMA_VERSION } from './migrations.js';
import { StateStore } from './store.js';

const dbPath = () => join(mkdtempSync(join(tmpdir(), 'c32-store-')), 'state.db');
const row = (id: string, name: string) => ({
  id: id.repeat(64).slice(0, 64), name, status: 'created' as const, createdAt: Date.now(),
  config: { name } as never, state: { restartCount: 0, runBase: 0, restartBase: 0 },
});

describe('StateStore', () => {
  it('migrates a new database to the current schema in WAL mode', () => {
    const s = StateStore.open(dbPath());
    expect(s.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.integrityCheck()).toEqual(['ok']);
    s.close();
  });

  it('refuses a database newer than the code', () => {
    const p = dbPath();
    const db = new Database(p);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => StateStore.open(p)).toThrow(/newer than this codex32 understands/);
  });

  it('gives a clear error for a file that is not a database', () => {
    const p = dbPath();
    writeFileSync(p, 'this is not sqlite'.repeat(100));
    try {
      StateStore.open(p);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EngineError);
      expect((e as EngineError).code).toBe('STATE_CORRUPT');
      expect((e as EngineError).message).toContain('docs/state.md');
    }
  });

  it('enforces unique names and CHECK constraints', () => {
    const s = StateStore.open(dbPath());
    s.insertContainer(row('a', 'one'));
    expect(() => s.insertContainer(row('b', 'one'))).toThrow(/already in use/);
    expect(() => s.db.prepare("UPDATE containers SET status = 'bogus'").run()).toThrow(/CHECK/);
    s.close();
  });

  it('records runs idempotently and cascades on delete', () => {
    const s = StateStore.open(dbPath());
    const r = row('c', 'two');
    s.insertContainer(r);
    const run = { run: 1, startedAt: 1, finishedAt: 2, exitCode: 3, signal: 0, oom: false, reason: 'failed' };
    s.insertRun(r.id, run);
    s.insertRun(r.id, run);
    expect(s.listRuns(r.id)).toEqual([run]);
    s.deleteContainer(r.id);
    expect(s.listRuns(r.id)).toEqual([]);
    s.close();
  });
});
