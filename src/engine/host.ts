// Host information for front ends: what this host supports, asked of the engine rather than the runtime.
import type { IsolationType } from '../config/schema.js';
import { probeHost, type HostInfo } from '../runtime/probe.js';
import { layerIdmap, type LayerIdmap } from '../runtime/idmap.js';
import { quotaSupport, type QuotaSupport } from '../runtime/quota.js';
import type { EngineCore } from './core.js';

export type { HostInfo } from '../runtime/probe.js';

export type EngineInfo = HostInfo & { storageDir: string; defaultIsolation: IsolationType; schemaVersion: number; diskQuota: QuotaSupport; strictLayers: LayerIdmap };

/** The host's capabilities (its disk quota mechanism among them) together with this engine's storage directory, default isolation and schema version. */
export function engineInfo(core: EngineCore): EngineInfo {
  return { ...probeHost(), storageDir: core.settings.storageDir, defaultIsolation: core.settings.isolation, schemaVersion: core.store.schemaVersion(), diskQuota: quotaSupport(), strictLayers: layerIdmap() };
}
