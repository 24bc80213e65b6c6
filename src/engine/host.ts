// Host information for front ends: what this host supports, asked of the engine rather than the runtime.
import type { IsolationType } from '../config/schema.js';
import { describeV2Parent, type V2Parent } from '../runtime/cgroup-parent.js';
import { probeHost, type HostInfo } from '../runtime/probe.js';
import { layerIdmap, type LayerIdmap } from '../runtime/idmap.js';
import { quotaSupport, type QuotaSupport } from '../runtime/quota.js';
import type { EngineCore } from './core.js';

export type { HostInfo } from '../runtime/probe.js';

/** cgroupV2: on a cgroup v2 host, who manages the tree (systemd or codex32) and where codex32's delegated subtree is */
export type EngineInfo = HostInfo & { storageDir: string; defaultIsolation: IsolationType; schemaVersion: number; diskQuota: QuotaSupport; strictLayers: LayerIdmap; cgroupV2?: V2Parent };

/** The host's capabilities (its disk quota mechanism among them) together with this engine's storage directory, default isolation and schema version. */
export function engineInfo(core: EngineCore): EngineInfo {
  const host = probeHost();
  const cgroupV2 = host.cgroup.version === 'v2' ? describeV2Parent() : undefined;
  return {
    ...host, storageDir: core.settings.storageDir, defaultIsolation: core.settings.isolation, schemaVersion: core.store.schemaVersion(),
    diskQuota: quotaSupport(), strictLayers: layerIdmap(), ...(cgroupV2 ? { cgroupV2 } : {}),
  };
}
