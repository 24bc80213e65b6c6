// A container's network as docker shows it: NetworkSettings.Ports, the address, and one URL to open.
import type { PortMapping } from '../config/schema.js';
import { networkAddress, networkMode } from '../runtime/network.js';
import { GATEWAY } from '../runtime/nftables.js';
import type { ContainerRow } from '../state/types.js';
import { isActive } from './status.js';

export type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

export interface NetworkInfo {
  Mode: 'host' | 'none' | 'private';
  IPAddress: string;
  Gateway: string;
  /** docker's shape: "3001/tcp" → [{ HostIp, HostPort }] */
  Ports: PortMap;
  Port: number | null;
  URL: string | null;
  /** docker's NetworkSettings.Networks of the user networks the container is on */
  Networks: Record<string, { IPAddress: string; Gateway: string; IPPrefixLen: number; Aliases: string[]; NetworkID: string }>;
}

/** docker's PortBindings/Ports map of a list of published ports. */
export function portMap(publish: PortMapping[]): PortMap {
  const out: PortMap = {};
  for (const p of publish) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return out;
}

/** The URL a person opens for the container: its --port, else its first published TCP port. */
export function containerUrl(row: ContainerRow): string | null {
  const c = row.config;
  if (networkMode(c) !== 'private' && typeof c.port === 'number') return `http://127.0.0.1:${c.port}`;
  const p = (c.publish ?? []).find((m) => m.protocol === 'tcp');
  if (!p) return null;
  return `http://${p.hostIp === '0.0.0.0' ? '127.0.0.1' : p.hostIp}:${p.hostPort}`;
}

/** The ports a container publishes now: none once it has stopped, as docker's ps and container list show. */
export function shownPorts(row: ContainerRow): PortMapping[] {
  return isActive(row.status) ? (row.config.publish ?? []) : [];
}

/** Published ports in docker ps's form: 0.0.0.0:32768->3001/tcp (none for a stopped container). */
export function portsText(row: ContainerRow): string {
  return shownPorts(row).map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}

/** NetworkSettings of inspect (the address only while the private network is up). */
export function networkInfo(row: ContainerRow): NetworkInfo {
  const mode = networkMode(row.config);
  const address = mode === 'private' ? networkAddress(row.id) : undefined;
  return {
    Mode: mode,
    IPAddress: address ?? '',
    Gateway: address ? GATEWAY : '',
    Ports: portMap(row.config.publish ?? []),
    Port: typeof row.config.port === 'number' ? row.config.port : null,
    URL: containerUrl(row),
    Networks: Object.fromEntries(
      row.config.networks.map((a) => [a.name, { IPAddress: address ?? '', Gateway: address ? GATEWAY : '', IPPrefixLen: address ? 32 : 0, Aliases: a.aliases, NetworkID: a.name }]),
    ),
  };
}

/** The network mode a container runs with (front ends read it from here, not from the runtime). */
export { networkMode };
