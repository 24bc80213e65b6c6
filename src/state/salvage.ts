// Keeping a damaged database aside, and reading back from it whatever is still readable.
import { openSqlite, type SqliteDatabase } from './sqlite.js';
import { existsSync, renameSync, rmSync } from 'node:fs';
import type { BotRow } from './store.js';
import { StateStore } from './store.js';
import type { EventRecord, ImageRow } from './types.js';

const SIDE_FILES = ['', '-wal', '-shm'];

/** Rows read back from a damaged database; a table that cannot be read is named in lost. */
export interface Salvage {
  bots: BotRow[];
  events: EventRecord[];
  images: ImageRow[];
  /** the rows of KEPT_TABLES, as stored */
  rows: Record<string, Array<Record<string, unknown>>>;
  lost: string[];
}

/**
 * Tables nothing on disk can rebuild, copied row for row: the OCI images (their tags, layers and blobs:
 * the blobs stay in the store, only these rows say which image is which), named volumes and user networks.
 * In the order their references need.
 */
const KEPT_TABLES = ['oci_images', 'layers', 'image_tags', 'image_layers', 'image_blobs', 'volumes', 'networks'];

/**
 * Move the database and its WAL and shared-memory files aside as path.corrupt-<time> (together, so the
 * copy stays what SQLite saw); returns the new name, or undefined when there was no database.
 */
export function setAside(path: string, now = new Date()): string | undefined {
  if (!existsSync(path)) {
    for (const s of SIDE_FILES.slice(1)) rmSync(path + s, { force: true }); // a WAL without its database is useless
    return undefined;
  }
  const aside = `${path}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  for (const s of SIDE_FILES) if (existsSync(path + s)) renameSync(path + s, aside + s);
  return aside;
}

/** Read every table repair cannot rebuild from disk (bots, events) plus images, table by table. */
export function salvage(path: string): Salvage {
  const out: Salvage = { bots: [], events: [], images: [], rows: {}, lost: [] };
  if (!existsSync(path)) return { ...out, lost: ['bots', 'events', ...KEPT_TABLES] };
  let db: SqliteDatabase;
  try {
    db = openSqlite(path, { readonly: true, fileMustExist: true });
  } catch {
    return { ...out, lost: ['bots', 'events', ...KEPT_TABLES] };
  }
  const read = <T>(table: string, map: (r: Record<string, unknown>) => T): T[] => {
    try {
      return (db.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>).map(map);
    } catch {
      out.lost.push(table);
      return [];
    }
  };
  const json = (v: unknown) => JSON.parse(String(v)) as never;
  out.bots = read('bots', (r) => ({
    name: String(r.name), type: String(r.type), createdAt: Number(r.created_at), updatedAt: Number(r.updated_at), config: json(r.config), state: json(r.state),
  }));
  out.events = read('events', (r) => ({
    id: Number(r.id), time: Number(r.time), type: String(r.type), containerId: (r.container_id as string | null) ?? undefined, name: (r.name as string | null) ?? undefined, attrs: json(r.attrs),
  }));
  out.images = read('images', (r) => ({ name: String(r.name), kind: r.kind as ImageRow['kind'], createdAt: Number(r.created_at), doc: json(r.doc) }));
  for (const t of KEPT_TABLES) out.rows[t] = read(t, (r) => r);
  db.close();
  return out;
}

/** Write salvaged bots, events and the kept tables into a fresh store (events keep their order, not their ids). */
export function restoreSalvage(store: StateStore, s: Salvage): void {
  store.tx(() => {
    for (const t of KEPT_TABLES)
      for (const row of s.rows[t] ?? []) {
        const cols = Object.keys(row);
        // the fresh store has every column of an older schema (migrations only add); a row it refuses
        // (a reference to a row that could not be read) is left out, the rest go in
        try {
          store.db.prepare(`INSERT OR IGNORE INTO ${t} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c]));
        } catch {
          s.lost.push(`${t} row`);
        }
      }
    for (const b of s.bots) {
      store.upsertBots([{ name: b.name, type: b.type, config: b.config }]);
      store.setBotState(b.name, b.state);
    }
    for (const e of s.events) store.insertEvent(e);
  });
}
