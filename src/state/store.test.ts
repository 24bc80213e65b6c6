import Database from 'better-sqlite3';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { SCHEMA_VERSION } from './migrations.js';
import { stateError } from './errors.js';
import { StateStore } from './store.js';

const scratch = mkdtempSync(join(tmpdir(), 'c32-store-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const dbPath = () => join(mkdtempSync(join(scratch, 'db-')), 'state.db');
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

describe('StateStore failures', () => {
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(EngineError);
      return (e as EngineError).code;
    }
    return undefined;
  };

  it('reports damage found by any query as STATE_CORRUPT, pointing at system repair', () => {
    const p = dbPath();
    const s = StateStore.open(p);
    for (let i = 0; i < 200; i++) s.insertContainer(row(i.toString(16).padStart(4, '0'), `c${i}`));
    s.close();
    const fd = openSync(p, 'r+');
    writeSync(fd, Buffer.alloc(200, 0xa5), 0, 200, 4096); // not a page type: always detected
    closeSync(fd);
    const t = StateStore.open(p);
    try {
      t.listContainers();
      expect.unreachable();
    } catch (e) {
      expect((e as EngineError).code).toBe('STATE_CORRUPT');
      expect((e as EngineError).message).toContain('codex32 system repair');
    }
    t.close();
  });

  it('reports a lock held past the busy timeout as STATE_UNAVAILABLE naming fuser', () => {
    const p = dbPath();
    StateStore.open(p).close();
    const holder = new Database(p);
    holder.prepare('BEGIN IMMEDIATE').run();
    const s = StateStore.open(p, { busyTimeoutMs: 50 });
    try {
      s.tx(() => s.deleteContainer('x'));
      expect.unreachable();
    } catch (e) {
      expect((e as EngineError).code).toBe('STATE_UNAVAILABLE');
      expect((e as EngineError).message).toContain('fuser');
    }
    holder.prepare('ROLLBACK').run();
    holder.close();
    s.close();
  });

  it('reports a read-only database as STATE_UNAVAILABLE, never corrupt', () => {
    const p = dbPath();
    StateStore.open(p).close();
    const s = StateStore.open(p, { readonly: true });
    expect(codeOf(() => s.insertContainer(row('d', 'ro')))).toBe('STATE_UNAVAILABLE');
    s.close();
  });

  it('classifies errno failures of the storage directory: a full disk is STATE_UNAVAILABLE with what to free', () => {
    const full = stateError(Object.assign(new Error('no space'), { code: 'ENOSPC' }), '/var/lib/codex32/state.db');
    expect(full?.code).toBe('STATE_UNAVAILABLE');
    expect(full?.message).toContain('codex32 prune');
    expect(full?.message).toContain('/var/lib/codex32/containers/*/container.log*');
    expect(stateError(Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' }), '/x/state.db')?.code).toBe('STATE_UNAVAILABLE');
    expect(stateError(Object.assign(new Error('ro'), { code: 'EROFS' }), '/x')?.code).toBe('STATE_UNAVAILABLE');
    expect(stateError(new TypeError('a bug'), '/x')).toBeUndefined();
  });
});
