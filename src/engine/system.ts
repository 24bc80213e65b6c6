// The `system` operations, which must work when the database cannot be opened: they take settings, not an engine.
import { loadSettings, type Settings } from '../config/settings.js';
import { checkState, type StateReport } from './check.js';
import { removeFromDisk, repairState, type RepairReport } from './repair.js';

export type { RepairReport } from './repair.js';
export type { StateReport } from './check.js';

/** Check the state database of the storage directory the settings name. */
export function systemCheck(options: Partial<Settings> = {}): StateReport {
  return checkState(loadSettings(process.env, options).storageDir);
}

/** Rebuild the state database of the storage directory the settings name from what is on disk. */
export function systemRepair(options: Partial<Settings> = {}, flags: { force?: boolean } = {}): RepairReport {
  return repairState(loadSettings(process.env, options).storageDir, flags);
}

/** Remove a container from its directory alone, for when the database is damaged; returns its name. */
export function removeWithoutState(options: Partial<Settings>, ref: string): Promise<string> {
  return removeFromDisk(loadSettings(process.env, options).storageDir, ref);
}
