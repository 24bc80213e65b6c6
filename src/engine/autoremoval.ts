// The auto-removals one process has under way: an auto-remove container found ended for good is removed
// in the background, once per process at a time, and a short-lived caller awaits them before it exits.
import type { ContainerRow } from '../state/types.js';
import type { EngineCore } from './core.js';
import { removeContainer } from './removal.js';

/** This process's auto-removals, by container id. */
export class AutoRemovals {
  private readonly work = new Map<string, Promise<boolean>>();

  constructor(private readonly core: EngineCore) {}

  /** Finish the removal of an auto-remove container that has ended (once per process at a time); true once tried. */
  finish(row: ContainerRow): Promise<boolean> {
    let work = this.work.get(row.id);
    if (!work) {
      work = (async () => {
        await null; // registered before the removal's own lookup reconciles this row again
        try {
          await removeContainer(this.core, row.id, { force: true, volumes: true }); // as --rm: its anonymous volumes go with it
        } catch {
          /* gone already, or failed: the row stays `removing` and the next engine call tries again */
        }
        return true;
      })().finally(() => this.work.delete(row.id));
      this.work.set(row.id, work);
    }
    return work;
  }

  /** Resolve once every auto-removal begun here is done. */
  async settle(): Promise<void> {
    while (this.work.size) await Promise.all(this.work.values());
  }
}
