// SQLite state store (better-sqlite3): containers, run history, images and events.
import { openSqlite, type SqliteDatabase, type SqliteStatement } from './sqlite.js';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { EngineError } from '../errors.js';
import { guardQueries, stateError } from './errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { toBot, toRow, type BotRow, type RawBot, type RawContainer } from './rows.js';
import type { ContainerRow, ContainerStatus, EventRecord, ImageRow, NetworkRow, RunRecord } from './types.js';

export type { ContainerRow, EventRecord, ImageRow, NetworkRow, RunRecord } from './types.js';
export type { BotRow } from './rows.js';

/** The engine's persistent state; every write is an IMMEDIATE transaction so no update is lost. */
export class StateStore {
  readonly db: SqliteDatabase;
  readonly path: string;

  private constructor(db: SqliteDatabase, path: string) {
    this.db = db;
    this.path = path;
  }

  /** Open (creating if needed) and migrate the database at path. */
  static open(path: string, options: { readonly?: boolean; busyTimeoutMs?: number } = {}): StateStore {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let db: SqliteDatabase;
    try {
      const busy = options.busyTimeoutMs ?? 30_000;
      db = openSqlite(path, { readonly: options.readonly ?? false, timeout: busy });
      // WAL lets readers run beside one writer; NORMAL sync is safe under WAL (no corruption, only the last commit at a power cut)
      db.pragma(`busy_timeout = ${busy}`);
      if (!options.readonly) toWal(db, busy);
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      if (!options.readonly) chmodSync(path, 0o600);
    } catch (cause) {
      throw (
        stateError(cause, path, 'open the state database') ??
        new EngineError('STATE_UNAVAILABLE', `Cannot open the state database ${path}: ${(cause as Error).message}. Run \`codex32 system check\`; see docs/state.md.`, {
          cause,
          context: { path },
        })
      );
    }
    const store = new StateStore(db, path);
    if (!options.readonly) store.migrate(path);
    return store;
  }

  private migrate(path: string): void {
    let version: number;
    try {
      version = this.db.pragma('user_version', { simple: true }) as number;
    } catch (cause) {
      throw stateError(cause, path, 'open the state database') ?? cause;
    }
    if (version > SCHEMA_VERSION)
      throw new EngineError(
        'STATE_TOO_NEW',
        `The state database ${path} has schema version ${version}, newer than this codex32 understands (${SCHEMA_VERSION}). Upgrade codex32, or use another --storage directory.`,
        { context: { path } },
      );
    if (version === SCHEMA_VERSION) return;
    const apply = this.db.transaction(() => {
      // re-read inside the write lock: another process may have migrated meanwhile
      const now = this.db.pragma('user_version', { simple: true }) as number;
      for (let v = now; v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    });
    apply.immediate();
  }

  /** The schema version recorded in the database. */
  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private readonly statements = new Map<string, SqliteStatement>();

  /** A prepared statement, prepared once per connection: preparing costs more than most queries here. */
  private stmt(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /** Run fn in an IMMEDIATE transaction: the write lock is taken up front, so read-modify-write is safe. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Insert a new container; a taken name raises NAME_IN_USE. */
  insertContainer(row: ContainerRow): void {
    try {
      this
        .stmt('INSERT INTO containers (id, name, status, created_at, config, state) VALUES (?, ?, ?, ?, ?, ?)')
        .run(row.id, row.name, row.status, row.createdAt, JSON.stringify(row.config), JSON.stringify(row.state));
    } catch (cause) {
      if ((cause as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new EngineError('NAME_IN_USE', `The name \`${row.name}\` is already in use. Remove that container or choose another --name.`, {
          cause,
          context: { container: row.name },
        });
      throw cause;
    }
  }

  /** Replace a container's status and state document. */
  updateContainer(id: string, status: ContainerStatus, state: ContainerRow['state']): void {
    this.stmt('UPDATE containers SET status = ?, state = ? WHERE id = ?').run(status, JSON.stringify(state), id);
  }

  /** Give a container a new name (its config's name with it); the caller checks the name is free. */
  renameContainer(id: string, name: string, config: ContainerRow['config']): void {
    this.stmt('UPDATE containers SET name = ?, config = ? WHERE id = ?').run(name, JSON.stringify(config), id);
  }

  /** Replace a container's config (a created container's networks, connected or disconnected). */
  updateConfig(id: string, config: ContainerRow['config']): void {
    this.stmt('UPDATE containers SET config = ? WHERE id = ?').run(JSON.stringify(config), id);
  }

  /** Insert a user network; a taken name raises NAME_IN_USE with docker's words. */
  insertNetwork(n: NetworkRow): void {
    const { id, name, createdAt, ...doc } = n;
    try {
      this.stmt('INSERT INTO networks (id, name, created_at, doc) VALUES (?, ?, ?, ?)').run(id, name, createdAt, JSON.stringify(doc));
    } catch (cause) {
      if ((cause as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new EngineError('NAME_IN_USE', `network with name ${name} already exists`, { cause, context: { network: name } });
      throw cause;
    }
  }

  /** Every user network, oldest first. */
  listNetworks(): NetworkRow[] {
    const rows = this.stmt('SELECT id, name, created_at, doc FROM networks ORDER BY created_at, name').all() as Array<{ id: string; name: string; created_at: number; doc: string }>;
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, ...(JSON.parse(r.doc) as Omit<NetworkRow, 'id' | 'name' | 'createdAt'>) }));
  }

  /** Delete a user network's row. */
  deleteNetwork(id: string): void {
    this.stmt('DELETE FROM networks WHERE id = ?').run(id);
  }

  /** Delete a container row (its runs go with it, and its strict uid range is free again). */
  deleteContainer(id: string): void {
    this.stmt('DELETE FROM containers WHERE id = ?').run(id);
    this.stmt('DELETE FROM id_ranges WHERE container_id = ?').run(id);
  }

  /** A container by exact id or name. */
  getContainer(idOrName: string): ContainerRow | undefined {
    const r = this.stmt('SELECT * FROM containers WHERE id = ? OR name = ?').get(idOrName, idOrName) as RawContainer | undefined;
    return r && toRow(r);
  }

  /** Containers whose id starts with prefix (for short ids). */
  findByIdPrefix(prefix: string): ContainerRow[] {
    const rows = this
      .stmt("SELECT * FROM containers WHERE id >= ? AND id < ? LIMIT 2")
      .all(prefix, prefix + 'g') as RawContainer[];
    return rows.map(toRow);
  }

  /** All containers, or only those in the given statuses. */
  listContainers(statuses?: ContainerStatus[]): ContainerRow[] {
    const rows = statuses
      ? (this
          .stmt(`SELECT * FROM containers WHERE status IN (${statuses.map(() => '?').join(',')}) ORDER BY created_at DESC`)
          .all(...statuses) as RawContainer[])
      : (this.stmt('SELECT * FROM containers ORDER BY created_at DESC').all() as RawContainer[]);
    return rows.map(toRow);
  }

  /** Record one exit of a container (idempotent on container and run number). */
  insertRun(id: string, r: RunRecord): void {
    this
      .stmt(
        'INSERT OR IGNORE INTO runs (container_id, run, started_at, finished_at, exit_code, signal, oom, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, r.run, r.startedAt, r.finishedAt, r.exitCode, r.signal, r.oom ? 1 : 0, r.reason);
  }

  /** The run history of a container, oldest first. */
  listRuns(id: string): RunRecord[] {
    return (
      this.stmt('SELECT * FROM runs WHERE container_id = ? ORDER BY run').all(id) as Array<{
        run: number;
        started_at: number;
        finished_at: number;
        exit_code: number;
        signal: number;
        oom: number;
        reason: string;
      }>
    ).map((r) => ({
      run: r.run,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      exitCode: r.exit_code,
      signal: r.signal,
      oom: r.oom === 1,
      reason: r.reason,
    }));
  }

  /** The highest run number recorded for a container (0 when none). */
  lastRun(id: string): number {
    const r = this.stmt('SELECT max(run) AS m FROM runs WHERE container_id = ?').get(id) as { m: number | null };
    return r.m ?? 0;
  }

  /** Append an event. */
  insertEvent(e: Omit<EventRecord, 'id'>): void {
    this
      .stmt('INSERT INTO events (time, type, container_id, name, attrs) VALUES (?, ?, ?, ?, ?)')
      .run(e.time, e.type, e.containerId ?? null, e.name ?? null, JSON.stringify(e.attrs ?? {}));
  }

  /** Whether the container's last run ended by the OOM killer, from its events (it may have been removed). */
  lastExitWasOom(id: string): boolean {
    return this.lastRunEnd(id)?.type === 'oom';
  }

  /** A run's last end event: die, or oom when the OOM killer ended it (an exec's OOM kill is an oom event without an exit code). */
  private lastRunEnd(id: string): { type: string; attrs: string } | undefined {
    return this.stmt("SELECT type, attrs FROM events WHERE container_id = ? AND type IN ('die', 'oom') AND attrs LIKE '%\"exitCode\"%' ORDER BY id DESC LIMIT 1").get(id) as { type: string; attrs: string } | undefined;
  }

  /** The exit code of a container's last die event: what a wait reports once the container is removed. */
  lastExitCode(id: string): number | undefined {
    const r = this.lastRunEnd(id);
    const code = r ? (JSON.parse(r.attrs) as { exitCode?: unknown }).exitCode : undefined;
    return typeof code === 'number' ? code : undefined;
  }

  /** Events after an id or a time, oldest first. */
  listEvents(opts: { afterId?: number; since?: number; until?: number; limit?: number } = {}): EventRecord[] {
    const rows = this
      .stmt(
        'SELECT * FROM events WHERE id > ? AND time >= ? AND time <= ? ORDER BY id LIMIT ?',
      )
      .all(opts.afterId ?? 0, opts.since ?? 0, opts.until ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 100_000) as Array<{
      id: number;
      time: number;
      type: string;
      container_id: string | null;
      name: string | null;
      attrs: string;
    }>;
    return rows.map((r) => ({
      id: r.id,
      time: r.time,
      type: r.type,
      containerId: r.container_id ?? undefined,
      name: r.name ?? undefined,
      attrs: JSON.parse(r.attrs),
    }));
  }

  /** Insert or refuse an image by name. */
  insertImage(img: ImageRow): void {
    try {
      this
        .stmt('INSERT INTO images (name, kind, created_at, doc) VALUES (?, ?, ?, ?)')
        .run(img.name, img.kind, img.createdAt, JSON.stringify(img.doc));
    } catch (cause) {
      if ((cause as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT'))
        throw new EngineError('IMAGE_EXISTS', `An image named \`${img.name}\` already exists. Remove it with \`codex32 image rm ${img.name}\` or choose another name.`, { cause });
      throw cause;
    }
  }

  /** An image by name. */
  getImage(name: string): ImageRow | undefined {
    const r = this.stmt('SELECT * FROM images WHERE name = ?').get(name) as
      | { name: string; kind: ImageRow['kind']; created_at: number; doc: string }
      | undefined;
    return r && { name: r.name, kind: r.kind, createdAt: r.created_at, doc: JSON.parse(r.doc) };
  }

  /** All stored images. */
  listImages(): ImageRow[] {
    return (this.stmt('SELECT * FROM images ORDER BY name').all() as Array<{ name: string; kind: ImageRow['kind']; created_at: number; doc: string }>).map(
      (r) => ({ name: r.name, kind: r.kind, createdAt: r.created_at, doc: JSON.parse(r.doc) }),
    );
  }

  /** Delete an image row. */
  deleteImage(name: string): void {
    this.stmt('DELETE FROM images WHERE name = ?').run(name);
  }

  /** Insert or replace bot definitions in one transaction (the caller validated every one first). */
  upsertBots(bots: Array<{ name: string; type: string; config: unknown }>): void {
    const now = Date.now();
    const stmt = this.stmt(
      `INSERT INTO bots (name, type, created_at, updated_at, config) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET type = excluded.type, updated_at = excluded.updated_at, config = excluded.config`,
    );
    this.tx(() => {
      for (const b of bots) stmt.run(b.name, b.type, now, now, JSON.stringify(b.config));
    });
  }

  /** A bot by name. */
  getBot(name: string): BotRow | undefined {
    const r = this.stmt('SELECT * FROM bots WHERE name = ?').get(name) as RawBot | undefined;
    return r && toBot(r);
  }

  /** Every bot, by name. */
  listBots(): BotRow[] {
    return (this.stmt('SELECT * FROM bots ORDER BY name').all() as RawBot[]).map(toBot);
  }

  /** Replace a bot's runtime state document. */
  setBotState(name: string, state: Record<string, unknown>): void {
    this.stmt('UPDATE bots SET state = ? WHERE name = ?').run(JSON.stringify(state), name);
  }

  /** Delete a bot definition. */
  deleteBot(name: string): void {
    this.stmt('DELETE FROM bots WHERE name = ?').run(name);
  }

  /** SQLite's own integrity check: "ok" or the problems found (at most limit of them). */
  integrityCheck(limit = 100): string[] {
    return (this.db.pragma(`integrity_check(${Math.max(1, Math.floor(limit))})`) as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
  }

  /** SQLite's quick check (no index cross-checks): true when the file's pages are sound. */
  quickCheck(): boolean {
    return this.db.pragma('quick_check', { simple: true }) === 'ok';
  }

  /** How many rows each table holds. */
  counts(): Record<'containers' | 'runs' | 'images' | 'events' | 'bots', number> {
    const n = (t: string) => (this.stmt(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return { containers: n('containers'), runs: n('runs'), images: n('images'), events: n('events'), bots: n('bots') };
  }

  /** Close the database cleanly (checkpointing the WAL). */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

// every query method reports a SQLite failure as an EngineError that says what to do, whichever caller hit it
guardQueries(StateStore);

/**
 * Put the database in WAL mode. Switching a new database's journal takes a lock that SQLite does not wait
 * for with the busy handler: the first CLIs racing on a fresh storage directory got SQLITE_BUSY at once.
 * Retried here within the busy timeout; a database already in WAL mode answers at the first try.
 */
function toWal(db: SqliteDatabase, busyMs: number): void {
  const end = Date.now() + busyMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > end) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // a synchronous open: sleep without spinning
    }
  }
}
