// system check: is the state database sound, and does it agree with the container directories on disk?
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isEngineError } from '../errors.js';
import { RUN_FILES } from '../runtime/contract.js';
import { containerPaths } from '../runtime/layout.js';
import { SCHEMA_VERSION } from '../state/migrations.js';
import { StateStore } from '../state/store.js';
import { containerDirs } from './ondisk.js';

/** What `codex32 system check` found. */
export interface StateReport {
  database: string;
  exists: boolean;
  schemaVersion?: number;
  codeSchemaVersion: number;
  /** ["ok"] when sound, else SQLite's findings (or why the file could not be read) */
  integrity: string[];
  counts?: Record<string, number>;
  directories: number;
  /** container directories no row names (older than a minute: younger ones may be a create in flight) */
  orphanDirectories: string[];
  /** rows whose container directory is gone */
  rowsWithoutDirectory: string[];
  /** false when the rows could not be read, so directories could not be matched to them */
  rowsRead: boolean;
  healthy: boolean;
  advice: string[];
}

const IN_FLIGHT_MS = 60_000;

/** Check the database at storageDir/state.db against the container directories, reading only. */
export function checkState(storageDir: string): StateReport {
  const database = join(storageDir, 'state.db');
  const dirs = containerDirs(storageDir);
  const report: StateReport = {
    database, exists: existsSync(database), codeSchemaVersion: SCHEMA_VERSION, integrity: [], directories: dirs.length,
    orphanDirectories: [], rowsWithoutDirectory: [], rowsRead: false, healthy: false, advice: [],
  };
  if (!report.exists) {
    report.integrity = ['missing'];
    report.orphanDirectories = dirs;
    report.healthy = dirs.length === 0;
    if (!report.healthy) report.advice.push('Run `codex32 system repair` to rebuild the database from the container directories.');
    return report;
  }
  let store: StateStore | undefined;
  try {
    store = StateStore.open(database, { readonly: true });
    report.schemaVersion = store.schemaVersion();
    report.integrity = store.integrityCheck(20);
    report.counts = store.counts();
    const rows = store.listContainers();
    const known = new Set(rows.map((r) => r.id));
    report.orphanDirectories = dirs.filter((id) => !known.has(id) && !inFlight(containerPaths(storageDir, id).dir));
    report.rowsWithoutDirectory = rows.filter((r) => r.status !== 'removing' && !existsSync(containerPaths(storageDir, r.id).dir)).map((r) => r.name);
    report.rowsRead = true;
  } catch (e) {
    if (!isEngineError(e) || (e.code !== 'STATE_CORRUPT' && e.code !== 'STATE_TOO_NEW')) throw e;
    const found = e.cause instanceof Error ? `${e.cause.message} (${(e.cause as { code?: string }).code ?? e.code})` : e.message;
    if (!report.integrity.length || report.integrity[0] === 'ok') report.integrity = [found];
    if (e.code === 'STATE_TOO_NEW') report.advice.push('Upgrade codex32: this database was written by a newer one.');
  } finally {
    store?.close();
  }
  const sound = report.integrity.length === 1 && report.integrity[0] === 'ok';
  report.healthy = sound && report.schemaVersion === SCHEMA_VERSION && !report.orphanDirectories.length && !report.rowsWithoutDirectory.length;
  if (!sound && !report.advice.length) report.advice.push('Run `codex32 system repair`: it keeps the damaged file aside and rebuilds the database from the container directories.');
  else if (sound && report.schemaVersion !== undefined && report.schemaVersion < SCHEMA_VERSION) report.advice.push('Run `./setup_database.sh` (or any codex32 command) to migrate the schema.');
  else if (report.orphanDirectories.length) report.advice.push('Run `codex32 system repair` to adopt the containers whose rows are missing, or `codex32 prune` to delete their directories.');
  else if (report.rowsWithoutDirectory.length) report.advice.push('Run `codex32 rm -f` on the containers whose directories are gone.');
  return report;
}

/** A create still writing its directory: never started, and made in the last minute. */
function inFlight(dir: string): boolean {
  try {
    return !existsSync(join(dir, RUN_FILES.spec)) && Date.now() - statSync(dir).mtimeMs < IN_FLIGHT_MS;
  } catch {
    return false;
  }
}
