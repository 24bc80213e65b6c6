// Parsers for the network and I/O flags in docker's forms: -p, --add-host, --dns, rates.
import { expected } from '../errors.js';
import { scaled } from './parse.js';
import type { ContainerConfig, NetworkMode, PortMapping } from './schema.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** True for a dotted IPv4 address. */
export function isIpv4(v: string): boolean {
  return IPV4.test(v);
}

/** docker's --expose PORT[/PROTO] in the image's ExposedPorts form (a range START-END becomes each port). */
export function parseExpose(value: string): string {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(value.trim());
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw expected('`--expose`', 'PORT or PORT/tcp|udp|sctp with a port from 1 to 65535', value);
  return `${Number(m[1])}/${m[2] ?? 'tcp'}`;
}

/** docker's --oom-score-adj: a whole number from -1000 to 1000. */
export function parseOomScoreAdj(value: string): number {
  if (!/^-?\d{1,4}$/.test(value.trim()) || Math.abs(Number(value)) > 1000) throw expected('`--oom-score-adj`', 'a whole number from -1000 to 1000', value);
  return Number(value);
}

/** Parse host | none | private. */
export function parseNetworkMode(value: string): NetworkMode {
  if (value === 'host' || value === 'none' || value === 'private') return value;
  throw expected('`--network`', 'one of host, none, private', value);
}

/**
 * docker's --network (a mode, or a user network's name), --network-alias and --link as config fields:
 * a user network's name becomes the container's one network, with its aliases; a link names a container
 * of a shared user network by another name inside this one.
 */
export function parseNetworkFlags(network: string | undefined, aliases: string[], links: string[]): Partial<ContainerConfig> {
  const mode = network === undefined || network === 'bridge' || network === 'default' ? (network ? 'private' : undefined) : ['host', 'none', 'private'].includes(network) ? (network as NetworkMode) : undefined;
  const user = network !== undefined && mode === undefined ? network : undefined;
  if (!user && (aliases.length || links.length))
    throw expected(aliases.length ? '`--network-alias`' : '`--link`', 'a user network given with --network (network-scoped aliases are supported only for containers in user defined networks)', network ?? 'no --network');
  const parsedLinks = links.map((l) => {
    const [name, alias, ...rest] = l.split(':');
    if (!name || rest.length || alias === '') throw expected('`--link`', 'CONTAINER or CONTAINER:ALIAS', l);
    return { name, alias: alias ?? name };
  });
  return {
    ...(mode ? { network: mode } : {}),
    ...(user ? { networks: [{ name: user, aliases }] } : {}),
    ...(parsedLinks.length ? { links: parsedLinks } : {}),
  };
}

const PUBLISH_FORM = '[IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp] with ports from 1 to 65535, such as 8080:3001';

/** Parse `-p [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]` (a missing or 0 HOSTPORT means any free port). */
export function parsePublish(value: string): PortMapping {
  const m = /^(?:(?:([\d.]+):)?(\d*):)?(\d+)(?:\/(tcp|udp))?$/.exec(value.trim());
  if (!m) throw expected('`-p`', PUBLISH_FORM, value);
  const [, ip, hp, cp, proto] = m;
  const hostPort = hp ? Number(hp) : 0;
  const containerPort = Number(cp);
  if (ip !== undefined && !isIpv4(ip)) throw expected('`-p`', PUBLISH_FORM, value);
  if (hostPort > 65535 || containerPort < 1 || containerPort > 65535) throw expected('`-p`', PUBLISH_FORM, value);
  return { hostIp: ip ?? '0.0.0.0', hostPort, containerPort, protocol: (proto ?? 'tcp') as 'tcp' | 'udp' };
}

/** Parse `--add-host NAME:IP`. */
export function parseAddHost(value: string): { host: string; ip: string } {
  const i = value.lastIndexOf(':');
  const host = value.slice(0, i);
  const ip = value.slice(i + 1);
  if (i < 1 || !/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,252}$/.test(host) || !isIpv4(ip))
    throw expected('`--add-host`', 'NAME:IPv4 such as db.local:10.0.0.5', value);
  return { host, ip };
}

/** Parse `--dns IP`. */
export function parseDns(value: string): string {
  if (!isIpv4(value.trim())) throw expected('`--dns`', 'an IPv4 address such as 10.0.0.53', value);
  return value.trim();
}

const RATE_BYTES: Record<string, bigint> = { '': 1n, k: 1024n, m: 1024n ** 2n, g: 1024n ** 3n };
const RATE_BITS: Record<string, bigint> = { '': 1n, k: 1000n, m: 1000n ** 2n, g: 1000n ** 3n };
/** Highest rate accepted, bytes per second (100g): far above any device or link. */
export const MAX_RATE = 100 * 1024 ** 3;

/**
 * Parse a rate: bytes per second as a size (`1m`, `512k`, `1mb`) or bits per second with `bit`
 * (`8mbit`), exactly (no floating point), to whole bytes per second.
 */
export function parseRate(flag: string, value: string): number {
  const m = /^(\d+)(?:\.(\d+))?([kmg]?)(b|bit)?$/i.exec(value.trim());
  const form = 'a rate such as 1m (bytes per second) or 8mbit';
  if (!m) throw expected(flag, form, value);
  const unit = m[3].toLowerCase();
  const bits = m[4]?.toLowerCase() === 'bit';
  const n = bits ? scaled(m[1], m[2], RATE_BITS[unit]) / 8n : scaled(m[1], m[2], RATE_BYTES[unit]);
  if (n < 1n || n > BigInt(MAX_RATE)) throw expected(flag, `${form}, from 1 byte to 100g per second`, value);
  return Number(n);
}

/** Parse DEVICE:RATE for --device-{read,write}-bps (a rate) and --device-{read,write}-iops (a count per second). */
export function parseDeviceRate(flag: string, value: string, kind: 'bps' | 'iops'): { path: string; rate: number } {
  const i = value.lastIndexOf(':');
  const form = kind === 'bps' ? 'DEVICE:RATE such as /dev/sda:1m' : 'DEVICE:IOPS such as /dev/sda:100';
  if (i < 2 || !value.startsWith('/')) throw expected(flag, form, value);
  const path = value.slice(0, i);
  const v = value.slice(i + 1);
  if (kind === 'bps') {
    try {
      return { path, rate: parseRate(flag, v) };
    } catch {
      throw expected(flag, `${form}, from 1 byte to 100g per second`, value);
    }
  }
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1e9) throw expected(flag, `${form}, from 1 to 1000000000`, value);
  return { path, rate: Number(v) };
}

/** Parse --blkio-weight: 10 to 1000, as docker. */
export function parseBlkioWeight(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 10 || Number(value) > 1000) throw expected('`--blkio-weight`', 'a whole number from 10 to 1000', value);
  return Number(value);
}
