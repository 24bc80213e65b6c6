// Private networks as docker's bridge does it as root, with no process per container: a named network
// namespace, a routed veth pair, nftables for NAT, published ports and isolation, tc for bandwidth.
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, randomInt } from '../lazy.js';
import { runCommand } from './command.js';
import type { NetworkMode, PortMapping } from '../config/schema.js';
import { EngineError } from '../errors.js';
import { hostsFile, resolverPlan } from './netfiles.js';
import { baseRules, GATEWAY, IF_PREFIX, portRules, portRulesRemoval, startRules, SUBNET } from './nftables.js';
import { dotted, parseSubnet, type MembershipNft } from './usernet.js';

/** Leases live in /run: they vanish with the namespaces at reboot, and are shared by every storage dir. */
export const LEASE_DIR = '/run/codex32/net';
/**
 * Addresses given up that a user network's set may still hold: a start that leases one rebuilds every set
 * (usernets.ts). Each marker holds a token, so a rebuild removes only the markers it read before it planned.
 */
const STALE_DIR = `${LEASE_DIR}/stale`;

export interface NetworkRequest {
  id: string;
  hostname: string;
  /** where the container's hosts and resolv.conf are written */
  etcDir: string;
  publish: PortMapping[];
  dns: string[];
  addHosts: Array<{ host: string; ip: string }>;
  /** bytes per second each way */
  bandwidth?: number;
  /** the subnet (CIDR) its address comes from: its first user network's, else the private pool */
  subnet?: string;
}

export interface NetworkLease {
  /** the bind-mounted namespace the supervisor joins */
  netnsPath: string;
  address: string;
  hostIf: string;
}

/** The mode a container runs with; containers created before networks existed keep their old one. */
export function networkMode(c: { isolation?: string; network?: NetworkMode }): NetworkMode {
  if (c.network) return c.network;
  return c.isolation === 'strict' ? 'none' : 'host';
}

/** The mode a new container gets when none is asked for. */
export function defaultNetworkMode(isolation: string): NetworkMode {
  return isolation === 'strict' ? 'none' : isolation === 'standard' ? 'private' : 'host';
}

/** Namespace and host interface name of a container (interface names hold 15 bytes). */
export function netName(id: string): string {
  return IF_PREFIX + id.slice(0, 15 - IF_PREFIX.length);
}

/**
 * The set-up commands as one shell script: one process spawned from this (large) Node process instead of
 * one per command, which on a busy host is most of a private network's cost. Each command gets its input
 * as a quoted here-document; the first that fails stops the script and names itself on stderr as @@N.
 * Every word in the commands is ours (names, addresses, numbers), never a user's string.
 */
export function stepsScript(steps: Array<[string, string?]>): string {
  const script = ['fail() { echo "@@$1" >&2; exit 1; }'];
  steps.forEach(([cmd, input], i) => {
    script.push(input === undefined ? `${cmd} || fail ${i}` : `${cmd} <<'C32_INPUT' || fail ${i}\n${input.trimEnd()}\nC32_INPUT`);
  });
  return script.join('\n');
}

/** Run the steps as one script; a failure names the step that failed and what it said. */
async function runSteps(steps: Array<[string, string?]>): Promise<void> {
  const r = await runCommand('sh', ['-c', stepsScript(steps)]).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  if (r.code === 0) return;
  const lines = r.stderr.trim().split('\n');
  const failed = /^@@(\d+)$/.exec(lines.at(-1) ?? '');
  const cmd = failed ? steps[Number(failed[1])][0] : 'sh';
  const detail = (failed ? lines.slice(0, -1).join('\n') : r.stderr).trim();
  throw new EngineError('RUNTIME_FAILED', `Cannot set up the private network (${cmd}): ${detail || 'it failed without a message'}`);
}

/** Lease a free address of the subnet (10.89.0.0/16 by default) by creating its file exclusively (safe across processes). */
function leaseAddress(id: string, subnet = SUBNET): string {
  mkdirSync(`${LEASE_DIR}/ip`, { recursive: true });
  const { base, prefix } = parseSubnet(subnet)!;
  // the network's own address, its first (the gateway docker would name) and its broadcast are never given
  const span = 2 ** (32 - prefix) - 3;
  const start = randomInt(span);
  for (let i = 0; i < span; i++) {
    const n = 2 + ((start + i) % span);
    if (prefix <= 16 && ((n & 255) === 0 || (n & 255) === 255)) continue;
    const address = dotted(base + n);
    try {
      closeSync(openSync(`${LEASE_DIR}/ip/${address}`, 'wx'));
      writeFileSync(`${LEASE_DIR}/ip/${address}`, id);
      writeFileSync(`${LEASE_DIR}/${netName(id)}`, address);
      return address;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new EngineError('RUNTIME_FAILED', `Every address of ${subnet === SUBNET ? 'the private network ' : 'the subnet '}${subnet} is in use. Remove stopped containers with \`codex32 prune\`.`);
}

/** Released addresses a user network's set may still hold, each with its marker's token. */
export function staleAddresses(): Array<{ address: string; token: string }> {
  let names: string[];
  try {
    names = readdirSync(STALE_DIR);
  } catch {
    return [];
  }
  return names.flatMap((address) => {
    try {
      return [{ address, token: readFileSync(`${STALE_DIR}/${address}`, 'utf8') }];
    } catch {
      return []; // cleared meanwhile
    }
  });
}

/** Clear the markers of addresses every set has been rebuilt without (those not marked again since). */
export function clearStale(seen: Array<{ address: string; token: string }>): void {
  for (const s of seen) {
    try {
      if (readFileSync(`${STALE_DIR}/${s.address}`, 'utf8') === s.token) rmSync(`${STALE_DIR}/${s.address}`, { force: true });
    } catch {
      /* cleared by another rebuild */
    }
  }
}

/** The address of a container whose private network is set up, else undefined. */
export function networkAddress(id: string): string | undefined {
  try {
    return readFileSync(`${LEASE_DIR}/${netName(id)}`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Write the container's /etc/hosts (and resolv.conf for a private network); returns the loopback DNS to forward to. */
export function writeNetFiles(req: Pick<NetworkRequest, 'etcDir' | 'hostname' | 'dns' | 'addHosts'>, address?: string): string | undefined {
  mkdirSync(req.etcDir, { recursive: true });
  const files = netFiles(req, address);
  for (const [name, text] of Object.entries(files.files)) writeFileSync(`${req.etcDir}/${name}`, text);
  return files.loopbackDns;
}

/** The contents of the container's network files in its etc directory, and the loopback DNS to forward to. */
export function netFiles(req: Pick<NetworkRequest, 'hostname' | 'dns' | 'addHosts'>, address?: string): { files: Record<string, string>; loopbackDns?: string } {
  const files: Record<string, string> = { hosts: hostsFile(req.hostname, address, req.addHosts) };
  if (!address) return { files };
  const resolver = resolverPlan(req.dns);
  files['resolv.conf'] = resolver.resolvConf;
  return { files, loopbackDns: resolver.loopbackDns };
}

/** tc token bucket: burst of a twentieth of a second, never below a few full frames. */
function shape(bytesPerSec: number): string[] {
  const burst = Math.max(16 * 1024, Math.round(bytesPerSec / 20));
  return ['root', 'tbf', 'rate', `${bytesPerSec}bps`, 'burst', String(burst), 'latency', '200ms'];
}

/**
 * Create the container's namespace, veth pair, address, routes, rules and shaping. `membership`, called
 * once the address is leased, gives the user networks' sets to apply in the same nftables transaction,
 * if any; `stale` says whether a set may still hold the address (then every set must be rebuilt, whether
 * or not the container is on a user network).
 */
export async function setupNetwork(req: NetworkRequest, membership?: (address: string, stale: boolean) => MembershipNft | undefined): Promise<NetworkLease> {
  const name = netName(req.id);
  // a previous run's leftovers (its supervisor was killed, or its command ended on its own)
  const leftover = !!networkAddress(req.id) || existsSync(`/run/netns/${name}`);
  if (leftover) await teardownNetwork(req.id, { ports: req.publish.length > 0 });
  const address = leaseAddress(req.id, req.subnet);
  try {
    const loopbackDns = writeNetFiles(req, address);
    await runSteps(setupSteps(req, address, loopbackDns, membership?.(address, leftover || existsSync(`${STALE_DIR}/${address}`))));
    return { netnsPath: `/run/netns/${name}`, address, hostIf: name };
  } catch (e) {
    await teardownNetwork(req.id, { ports: req.publish.length > 0 });
    throw e;
  }
}

/** The commands that build the container's namespace, veth pair, address, routes, rules and shaping. */
export function setupSteps(req: NetworkRequest, address: string, loopbackDns: string | undefined, membership?: MembershipNft): Array<[string, string?]> {
  const name = netName(req.id);
  const steps: Array<[string, string?]> = [
    ['ip -batch -', [
      `netns add ${name}`,
      `link add ${name} type veth peer name eth0 netns ${name}`,
      `addr add ${GATEWAY}/32 dev ${name}`,
      `link set ${name} up`,
      `route add ${address}/32 dev ${name} src ${GATEWAY}`,
    ].join('\n')],
    [`ip -n ${name} -batch -`, [
      'link set lo up',
      'link set eth0 up',
      `addr add ${address}/32 dev eth0`,
      `route add ${GATEWAY} dev eth0 scope link`,
      `route add default via ${GATEWAY} dev eth0`,
    ].join('\n')],
    // routing is what gives a private container its way out: on, as docker and podman turn it on (docs/network.md)
    ['read f < /proc/sys/net/ipv4/ip_forward; [ "$f" = 1 ] || echo 1 > /proc/sys/net/ipv4/ip_forward'],
    // host-loopback clients of published ports leave through this interface (then masqueraded)
    [`echo 1 > /proc/sys/net/ipv4/conf/${name}/route_localnet`],
  ];
  if (req.bandwidth) {
    steps.push([`tc qdisc replace dev ${name} ${shape(req.bandwidth).join(' ')}`]); // towards the container
    steps.push([`tc -n ${name} qdisc replace dev eth0 ${shape(req.bandwidth).join(' ')}`]); // from it
  }
  steps.push([startRules(baseRules(loopbackDns), portRules(req.id, address, req.publish) + (membership?.script ?? ''), membership?.rules ?? [])]);
  return steps;
}

/** The `ip -batch` lines that delete a container's veth pair (both ends) and its namespace. */
export function teardownParts(name: string): [string, string] {
  return [`link del ${name}`, `netns del ${name}`];
}

/**
 * Remove everything the container's private network holds on the host; safe to call twice. `member:
 * false` says no user network's set can hold its address; otherwise the address is marked stale as it is
 * given up, until every set has been rebuilt without it.
 */
export async function teardownNetwork(id: string, options: { ports?: boolean; member?: boolean } = {}): Promise<void> {
  const name = netName(id);
  const [link, netns] = teardownParts(name);
  const parts = [];
  if (existsSync(`/sys/class/net/${name}`)) parts.push(link); // both ends go with it
  if (existsSync(`/run/netns/${name}`)) parts.push(netns);
  // one process for the whole teardown; the interfaces' failure means they went meanwhile
  const script = [...(options.ports !== false ? [portRulesRemoval(id)] : [])];
  if (parts.length) script.push(`ip -force -batch - >/dev/null 2>&1 <<'C32_INPUT' || true\n${parts.join('\n')}\nC32_INPUT`);
  if (script.length) {
    const r = await runCommand('sh', ['-c', script.join('\n')]).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
    if (r.code !== 0) throw new EngineError('RUNTIME_FAILED', `nftables refused to remove the container's published ports: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  // in this order: no plan includes the address once it is marked, and it is marked before anyone can lease it
  const address = networkAddress(id);
  rmSync(`${LEASE_DIR}/${name}`, { force: true });
  if (!address) return;
  if (options.member !== false) {
    mkdirSync(STALE_DIR, { recursive: true });
    writeFileSync(`${STALE_DIR}/${address}`, randomBytes(8).toString('hex'));
  }
  rmSync(`${LEASE_DIR}/ip/${address}`, { force: true });
}
