// What every engine module needs from the engine: settings, the store, paths, lookup and event recording.
import type { Settings } from '../config/settings.js';
import type { ContainerPaths } from '../runtime/layout.js';
import type { StateStore } from '../state/store.js';
import type { ContainerRow } from '../state/types.js';

/** The engine as its modules see it; ContainerEngine implements it. */
export interface EngineCore {
  readonly settings: Settings;
  readonly store: StateStore;
  /** Paths of a container's files. */
  paths(id: string): ContainerPaths;
  /** A container by name, id or id prefix, reconciled. */
  get(ref: string): ContainerRow;
  /** Find a container as get does, without reconciling it. */
  find(ref: string): ContainerRow;
  /** Bring a row up to date with its supervisor. */
  reconcile(row: ContainerRow): ContainerRow;
  /** Finish the removal of an auto-remove container that has ended (removalDue); true once it was tried. */
  finishRemoval(row: ContainerRow): Promise<boolean>;
  /** Start a container (used by the restart policy). */
  start(ref: string): Promise<void>;
}

/** Record one event about a container (call inside a transaction when it goes with a state change). */
export function recordEvent(store: StateStore, type: string, row: EventSubject, attrs: Record<string, unknown> = {}): void {
  store.insertEvent({ time: Date.now(), type, containerId: row.id, name: row.name, attrs: eventAttrs(row, attrs) });
}

/** The container an event is about; with its config, the event carries its image and labels. */
export type EventSubject = { id: string; name: string; config?: { image?: string; labels?: Record<string, string> } };

/** docker's event attributes: the image and the container's labels (what `image` and `label` filters read), then the event's own. */
export function eventAttrs(row: EventSubject, attrs: Record<string, unknown>): Record<string, unknown> {
  return row.config ? { image: row.config.image, ...row.config.labels, ...attrs } : attrs;
}

/** Resolve after ms milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
