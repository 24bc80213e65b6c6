// docker's network filters, exactly: driver, id, label, name, scope, type, dangling. An unknown key or value
// is refused with docker's words, never ignored (`docker network rm $(docker network ls -q -f ...)` must
// not reach networks the filter did not mean).
import { createHash } from '../lazy.js';
import { EngineError } from '../errors.js';
import { hasLabel } from './prunefilter.js';
import type { NetworkView } from './usernets.js';

/** A network as docker lists it: the user networks, and the predefined bridge (codex32's private), host and none. */
export interface ListedNetwork {
  id: string;
  name: string;
  driver: 'bridge' | 'host' | 'null';
  builtin: boolean;
  labels: Record<string, string>;
  containers: number;
  createdAt: number;
  view?: NetworkView;
}

/** The predefined networks' ids: fixed, so they read the same from every process. */
export const builtinId = (name: string) => createHash('sha256').update(`codex32 network ${name}`).digest('hex');

/** The predefined networks and the user networks, in docker's shape for listing and filtering. */
export function listed(views: NetworkView[], builtinNames: { bridge: string; host: string; none: string }): ListedNetwork[] {
  const builtin = (['bridge', 'host', 'none'] as const).map((k) => ({
    id: builtinId(k), name: builtinNames[k], driver: k === 'none' ? ('null' as const) : k, builtin: true, labels: {}, containers: 0, createdAt: 0,
  }));
  return [...builtin, ...views.map((v) => ({ id: v.id, name: v.name, driver: 'bridge' as const, builtin: false, labels: v.labels, containers: v.containers.length, createdAt: v.createdAt, view: v }))];
}

const KEYS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];
const bad = (msg: string) => new EngineError('INVALID_CONFIG', msg);

/** Keep the networks every filter key matches (values of one key: any of them; label: all of them). */
export function filterNetworks(nets: ListedNetwork[], filters: Record<string, string[]>): ListedNetwork[] {
  for (const k of Object.keys(filters)) if (!KEYS.includes(k)) throw bad(`invalid filter '${k}'`);
  for (const t of filters.type ?? []) if (t !== 'custom' && t !== 'builtin') throw bad(`invalid filter: 'type'='${t}'`);
  for (const s of filters.scope ?? []) if (!['local', 'swarm', 'global'].includes(s)) throw bad(`invalid filter: 'scope'='${s}'`);
  for (const d of filters.dangling ?? []) if (!['true', 'false', '1', '0'].includes(d)) throw bad(`invalid filter 'dangling=${d}'`);
  if ((filters.dangling ?? []).length > 1) throw bad('invalid filter: dangling takes one value');
  return nets.filter((n) => {
    const any = (k: string, test: (v: string) => boolean) => !filters[k]?.length || filters[k]!.some(test);
    return (
      any('driver', (v) => v === n.driver) &&
      any('id', (v) => n.id.startsWith(v)) &&
      any('name', (v) => n.name.includes(v)) &&
      any('scope', (v) => v === 'local') &&
      any('type', (v) => (v === 'builtin') === n.builtin) &&
      any('dangling', (v) => (['true', '1'].includes(v) ? !n.builtin && n.containers === 0 : n.builtin || n.containers > 0)) &&
      (filters.label ?? []).every((t) => hasLabel(n.labels, t))
    );
  });
}

/** docker's `network inspect` document of a user network. */
export function networkDoc(n: NetworkView): Record<string, unknown> {
  return {
    Name: n.name,
    Id: n.id,
    Created: new Date(n.createdAt).toISOString(),
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: n.subnet ? [{ Subnet: n.subnet, ...(n.gateway ? { Gateway: n.gateway } : {}) }] : [] },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(
      n.containers.map((c) => [c.id, { Name: c.name, EndpointID: '', MacAddress: '', IPv4Address: c.address ? `${c.address}/32` : '', IPv6Address: '', Aliases: c.aliases }]),
    ),
    Options: n.options,
    Labels: n.labels,
  };
}

/** docker's document of a predefined network (codex32's private mode is docker's bridge). */
export function builtinDoc(n: ListedNetwork): Record<string, unknown> {
  return {
    Name: n.name, Id: n.id, Created: new Date(0).toISOString(), Scope: 'local', Driver: n.driver, EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: n.driver === 'bridge' ? [{ Subnet: '10.89.0.0/16', Gateway: '10.89.0.1' }] : [] },
    Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {},
  };
}
