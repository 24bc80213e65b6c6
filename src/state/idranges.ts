// Strict containers' host uid/gid ranges: one per container, never two containers on one range, the lowest free first.
import { EngineError } from '../errors.js';
import type { StateStore } from './store.js';

/** The pool's first host id: ids below are the host's own users. */
export const ID_RANGE_START = 100000;
/** Ids per container: a whole 16-bit uid space, as podman's --userns=auto gives by default. */
export const ID_RANGE_SIZE = 65536;
/** Ranges in the pool unless CODEX32_STRICT_ID_RANGES says otherwise (ids 100000 to 67208863). */
export const DEFAULT_ID_RANGES = 1024;
/** The most ranges that fit below the kernel's largest id (2^32 - 2). */
export const MAX_ID_RANGES = Math.floor((4_294_967_294 - ID_RANGE_START) / ID_RANGE_SIZE);
/** A create that died before its row was written: its reservation is free again after this long. */
const ORPHAN_MS = 10 * 60_000;

/** Whether base is one of the pool's range starts. */
export function isRangeBase(base: number): boolean {
  return Number.isInteger(base) && base >= ID_RANGE_START && (base - ID_RANGE_START) % ID_RANGE_SIZE === 0 && (base - ID_RANGE_START) / ID_RANGE_SIZE < MAX_ID_RANGES;
}

/** The base of container id's range, or undefined when it holds none. */
export function idRangeOf(store: StateStore, id: string): number | undefined {
  const r = store.db.prepare('SELECT base FROM id_ranges WHERE container_id = ?').get(id) as { base: number } | undefined;
  return r?.base;
}

/**
 * The range of container id, reserving the lowest free one of a pool of count ranges when it holds
 * none. Call it inside the store's write transaction: the lock is what keeps two creates apart.
 */
export function allocateIdRange(store: StateStore, id: string, count = DEFAULT_ID_RANGES): number {
  const held = idRangeOf(store, id);
  if (held !== undefined) return held;
  // a reservation whose create never wrote its row (the process died) is given back
  store.db.prepare('DELETE FROM id_ranges WHERE reserved_at < ? AND container_id NOT IN (SELECT id FROM containers)').run(Date.now() - ORPHAN_MS);
  const used = new Set((store.db.prepare('SELECT base FROM id_ranges').all() as Array<{ base: number }>).map((r) => r.base));
  for (let k = 0; k < Math.min(count, MAX_ID_RANGES); k++) {
    const base = ID_RANGE_START + k * ID_RANGE_SIZE;
    if (used.has(base)) continue;
    store.db.prepare('INSERT INTO id_ranges (base, container_id, reserved_at) VALUES (?, ?, ?)').run(base, id, Date.now());
    return base;
  }
  throw new EngineError(
    'HOST_UNSUPPORTED',
    `All ${count} host uid ranges for strict containers are taken (each strict container holds one until it is removed). Remove strict containers you no longer need, or raise CODEX32_STRICT_ID_RANGES (at most ${MAX_ID_RANGES}).`,
  );
}

/** Give container id's range back: its create failed, or it was removed. */
export function releaseIdRange(store: StateStore, id: string): void {
  store.db.prepare('DELETE FROM id_ranges WHERE container_id = ?').run(id);
}

/** Record a range found on disk for container id (system repair); false when it is not a pool range or another container holds it. */
export function adoptIdRange(store: StateStore, id: string, base: number): boolean {
  if (!isRangeBase(base)) return false;
  const r = store.db.prepare('INSERT OR IGNORE INTO id_ranges (base, container_id, reserved_at) VALUES (?, ?, ?)').run(base, id, Date.now());
  return r.changes === 1;
}
