// The engine's side of networks: a config's mode and ports checked and resolved at create, the private
// network brought up before the supervisor starts and taken down when the container stops.
import { existsSync } from 'node:fs';
import type { NetworkMode, PortMapping, ResolvedConfig } from '../config/schema.js';
import { EngineError, fieldError } from '../errors.js';
import type { ContainerPaths } from '../runtime/layout.js';
import { defaultNetworkMode, networkAddress, networkMode, setupNetwork, teardownNetwork, writeNetFiles } from '../runtime/network.js';
import { freePort, pickPort, portTaken } from '../runtime/ports.js';
import { endPasta, PASTA_ADDRESS, PASTA_DNS, rootlessHost, type RootlessHost } from '../runtime/rootless.js';
import type { ContainerRow } from '../state/types.js';
import type { EngineCore } from './core.js';
import { finishMembership, resolveAttachments, resolveLinks, startMembership, subnetFor, syncNetworks, type StartedMembership } from './usernets.js';
import { isActive } from './status.js';

type Isolation = 'minimal' | 'standard' | 'strict';

/** A refusal naming config fields (each front end names them its own way, see fieldError). */
const bad = (msg: string, ...fields: string[]) => fieldError('INVALID_CONFIG', msg, fields);

/** Whether this host has what private networks need: root, ip (iproute2) and nft. */
export function privateNetworkMissing(): string[] {
  // an ordinary user's private network is pasta's (rootless.ts), one process per container
  const rootless = rootlessHost();
  if (rootless) return rootless.networkMissing;
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (veth pairs and nftables rules need it)');
  if (!['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].some(existsSync)) missing.push('ip (Debian package iproute2)');
  if (!['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].some(existsSync)) missing.push('nft (Debian package nftables)');
  return missing;
}

/** Refuse network options the mode cannot honour. */
function checkMode(mode: NetworkMode, isolation: Isolation, cfg: ResolvedConfig): void {
  if (isolation === 'minimal' && mode !== 'host')
    throw bad(`Expected \`network\` to be host at minimal isolation (it has no namespaces), got \`${mode}\`. Set \`isolation\` to standard for a private network.`, 'network', 'isolation');
  if (isolation === 'strict' && mode === 'host')
    throw bad('Expected `network` to be none or private at strict isolation (strict never shares the host network), got `host`', 'network');
  const needPrivate: Array<[boolean, string]> = [
    [cfg.publish.length > 0, 'publish'],
    [!!cfg.publishAll, 'publishAll'],
    [cfg.dns.length > 0, 'dns'],
    [cfg.networkBandwidth !== undefined, 'networkBandwidth'],
  ];
  for (const [given, key] of needPrivate)
    if (given && mode !== 'private') throw bad(`Expected \`${key}\` with \`network\` private (this container's network is ${mode})`, key, 'network');
  if (cfg.addHosts.length && mode === 'host') throw bad('Expected `addHosts` with `network` private or none (on the host network the host\'s /etc/hosts is shown)', 'addHosts', 'network');
  if (cfg.port !== undefined && mode === 'none')
    throw bad(`Expected no \`port\` with \`network\` none: the container has its own network namespace with only lo. Set \`network\` to private${isolation === 'strict' ? '' : ' or host'}.`, 'port', 'network');
  const rootless = rootlessHost();
  if (rootless) checkRootless(rootless, mode, cfg);
  if (mode === 'private') {
    const missing = privateNetworkMissing();
    if (missing.length)
      throw fieldError('HOST_UNSUPPORTED', `This host cannot give a private network: missing ${missing.join('; ')}. Set \`network\` to host or none.`, ['network']);
  }
}

/** What pasta cannot give an ordinary user: user networks, shaping, ports below the unprivileged floor. */
function checkRootless(h: RootlessHost, mode: NetworkMode, cfg: ResolvedConfig): void {
  const why = 'codex32 runs rootless (its private networks are pasta\'s, one per container)';
  if (cfg.networks.length) throw fieldError('HOST_UNSUPPORTED', `Expected no \`networks\` here: ${why}, and user networks need root (a bridge of veth pairs and nftables rules). Leave them out, or run codex32 as root.`, ['networks']);
  if (cfg.networkBandwidth !== undefined) throw fieldError('HOST_UNSUPPORTED', `Expected no \`networkBandwidth\` here: ${why}, and shaping needs tc on a veth pair, which needs root. Leave it out, or run codex32 as root.`, ['networkBandwidth']);
  if (cfg.links.length) throw fieldError('HOST_UNSUPPORTED', `Expected no \`links\` here: ${why}, and links need a user network. Leave them out, or run codex32 as root.`, ['links']);
  const low = cfg.publish.find((p) => p.hostPort !== 0 && p.hostPort < h.lowestPort);
  if (low && mode === 'private')
    throw fieldError('HOST_UNSUPPORTED', `Expected \`publish\` host ports from ${h.lowestPort} up here, got \`${low.hostPort}\`: ${why}, and an ordinary user cannot bind a port below net.ipv4.ip_unprivileged_port_start (${h.lowestPort}). Publish a higher port, or lower that sysctl as root.`, ['publish']);
}

/**
 * Host ports of other containers, per protocol and address: with active, only those of containers that
 * run (a fixed port is docker's to take whenever its holder is not running: it is checked again at start).
 */
function heldPorts(core: EngineCore, active = false): PortMapping[] {
  return core.store.listContainers().filter((r) => !active || isActive(r.status)).flatMap((r) => r.config.publish ?? []);
}

const clash = (a: PortMapping, b: PortMapping) =>
  a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIp === b.hostIp || a.hostIp === '0.0.0.0' || b.hostIp === '0.0.0.0');

/**
 * At a start, inside its claim's transaction (so two starts cannot both pass): refuse a host port a
 * running container publishes, in docker's words. Returns the stopped containers that publish one of
 * its ports, whose rules the start takes down first (an exited container keeps them until then).
 */
export function claimPorts(core: EngineCore, row: ContainerRow): ContainerRow[] {
  const mine = row.config.publish ?? [];
  if (!mine.length) return [];
  const others = core.store.listContainers().filter((r) => r.id !== row.id && (r.config.publish ?? []).some((h) => mine.some((p) => clash(h, p))));
  for (const o of others.filter((r) => isActive(r.status))) {
    const p = mine.find((m) => (o.config.publish ?? []).some((h) => clash(h, m)))!;
    throw new EngineError('INVALID_STATE', `Cannot start ${row.name}: Bind for ${p.hostIp}:${p.hostPort} failed: port is already allocated (container ${o.name} publishes it). Stop ${o.name}, or recreate ${row.name} with another -p.`, { context: { container: row.name } });
  }
  return others;
}

/** Give every mapping a host port: free ones picked, asked-for ones checked against the host and other containers. */
async function resolvePorts(core: EngineCore, wanted: PortMapping[]): Promise<PortMapping[]> {
  // a picked port avoids every container's, so a stopped one's is still free when it starts again
  const held = heldPorts(core);
  const running = heldPorts(core, true);
  const out: PortMapping[] = [];
  for (const p of wanted) {
    if (p.hostPort === 0) {
      const avoid = new Set([...held, ...out].filter((h) => h.protocol === p.protocol).map((h) => h.hostPort));
      out.push({ ...p, hostPort: await pickPort(p.hostIp, p.protocol, avoid) });
      continue;
    }
    const spec = `${p.hostIp}:${p.hostPort}/${p.protocol}`;
    if ([...running, ...out].some((h) => clash(h, p))) throw bad(`Expected \`publish\` to name a free host port, got \`${spec}\`: another running container publishes it`, 'publish');
    if (await portTaken(p.hostIp, p.hostPort, p.protocol)) throw bad(`Expected \`publish\` to name a free host port, got \`${spec}\`: something on this host already uses it`, 'publish');
    out.push(p);
  }
  return out;
}

/** Resolve the network part of a new container's config: its mode, ports and PORT variable. */
export async function resolveNetwork(core: EngineCore, cfg: ResolvedConfig, isolation: Isolation) {
  // on a user network a container has a private network of its own, and the user network's reach and names
  const network = cfg.network ?? (cfg.networks.length ? 'private' : defaultNetworkMode(isolation));
  checkMode(network, isolation, cfg);
  const networks = resolveAttachments(core, cfg.networks, network);
  const links = resolveLinks(core, cfg.links, networks);
  let port = cfg.port === 'auto' ? undefined : cfg.port;
  const publish = [...cfg.publish];
  // -P: every port the image or --expose declares, on a free host port unless -p already publishes it
  if (cfg.publishAll)
    for (const e of cfg.exposedPorts ?? []) {
      const [p, proto = 'tcp'] = e.split('/');
      if (proto !== 'tcp' && proto !== 'udp') continue; // sctp: no published form here
      if (!publish.some((m) => m.containerPort === Number(p) && m.protocol === proto)) publish.push({ hostIp: '0.0.0.0', hostPort: 0, containerPort: Number(p), protocol: proto });
    }
  if (cfg.port !== undefined && network === 'private') {
    // --port keeps its meaning: the bot listens on PORT and is reached at 127.0.0.1:PORT on the host
    if (port === undefined) {
      const avoid = new Set(heldPorts(core).map((h) => h.hostPort));
      port = await pickPort('127.0.0.1', 'tcp', avoid);
    }
    publish.push({ hostIp: '127.0.0.1', hostPort: port, containerPort: port, protocol: 'tcp' });
  } else if (cfg.port === 'auto') {
    port = await freePort();
  }
  const env = port !== undefined ? { ...cfg.env, PORT: String(port) } : cfg.env;
  return { network, networks, links, port, env, publish: await resolvePorts(core, publish) };
}

/**
 * Bring up what the container's network needs before its supervisor starts; returns the namespace
 * the supervisor joins (private only).
 */
export async function startNetwork(core: EngineCore, row: ContainerRow, paths: ContainerPaths): Promise<string | undefined> {
  const c = row.config;
  const mode = networkMode(c);
  const req = { id: row.id, hostname: c.hostname ?? c.name, etcDir: paths.etc, publish: c.publish ?? [], dns: c.dns ?? [], addHosts: c.addHosts ?? [], bandwidth: c.networkBandwidth, subnet: subnetFor(core, row) };
  if (c.isolation === 'minimal' || mode === 'host') return undefined;
  if (mode === 'none') {
    writeNetFiles(req);
    return undefined;
  }
  for (const p of req.publish)
    if (await portTaken(p.hostIp, p.hostPort, p.protocol))
      throw new EngineError('INVALID_STATE', `Cannot start ${c.name}: host port ${p.hostIp}:${p.hostPort}/${p.protocol} is now used by another program on this host. Stop that program, or recreate the container with another -p.`);
  if (rootlessHost()) {
    // pasta, started by the supervisor in the container's own namespace: only its /etc files here
    writeNetFiles({ ...req, dns: req.dns.length ? req.dns : [PASTA_DNS] }, PASTA_ADDRESS);
    return undefined;
  }
  // a member's sets go in with its own rules, one nftables transaction; then its peers' hosts files
  let started: StartedMembership | undefined;
  // a container on no user network has nothing to add, but an address a set may still hold (its last
  // holder's stop was cut short) has every set rebuilt first, or it would inherit that holder's networks
  const membership = (address: string, stale: boolean) => (c.networks.length || stale ? (started = startMembership(core, address, stale)).nft : undefined);
  const lease = await setupNetwork(req, membership);
  if (started) {
    try {
      await finishMembership(core, started);
    } catch (e) {
      await stopNetwork(core, row);
      throw e;
    }
  }
  return lease.netnsPath;
}

/** Take the container's private network down (its namespace, interfaces, rules, address). */
export async function stopNetwork(core: EngineCore, row: ContainerRow): Promise<void> {
  if (networkMode(row.config) !== 'private') return;
  // rootless: the supervisor ends pasta with the run; one it could not (killed itself) is ended here
  if (rootlessHost()) return endPasta(core.paths(row.id).dir);
  const address = networkAddress(row.id);
  // its networks now (a disconnect while it was stopped counts) and when it ran
  const networks = core.store.getContainer(row.id)?.config.networks.length ?? row.config.networks.length;
  await teardownNetwork(row.id, { ports: (row.config.publish ?? []).length > 0, member: networks > 0 || row.config.networks.length > 0 });
  // its peers stop naming it, and its address leaves the internal set (the next container to lease it may have a way out)
  if (address && networks) await syncNetworks(core, { addresses: [address] });
}
