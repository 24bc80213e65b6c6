// Host information for front ends: what this host supports, asked of the engine rather than the runtime.
import type { IsolationType } from '../config/schema.js';
import { probeHost, type HostInfo } from '../runtime/probe.js';
import type { EngineCore } from './core.js';

export type { HostInfo } from '../runtime/probe.js';

export type EngineInfo = HostInfo & { storageDir: string; defaultIsolation: IsolationType; schemaVersion: number };

/** The host's capabilities together with this engine's storage directory, default isolation and schema version. */
export function engineInfo(core: EngineCore): EngineInfo {
  return { ...probeHost(), storageDir: core.settings.storageDir, defaultIsolation: core.settings.isolation, schemaVersion: core.store.schemaVersion() };
}
