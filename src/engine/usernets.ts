// User networks: created, listed, inspected, removed and pruned; containers connected and disconnected;
// and, whenever a member comes or goes, each network's address set and its members' /etc/hosts made
// true again. Names resolve through /etc/hosts, which libc and every language's resolver read first
// (docs/network.md); the file is rewritten in place, so the bind inside the container sees it.
import type { NetworkAttachment } from '../config/schema.js';
import { NAME_RE } from '../config/schema.js';
import { EngineError, fieldError } from '../errors.js';
import { randomBytes } from '../lazy.js';
import { clearStale, networkAddress, networkMode, staleAddresses } from '../runtime/network.js';
import { SUBNET } from '../runtime/nftables.js';
import { applyMembership, dropNetworkSet, memberAdds, membershipNft, overlaps, parseSubnet, type MembershipNft } from '../runtime/usernet.js';
import type { ContainerRow, ContainerStatus, NetworkRow } from '../state/types.js';
import type { EngineCore } from './core.js';
import { writeMembersHosts } from './hostsfiles.js';

/** Names docker gives its own networks (and codex32's modes): never a user network's. */
export const PREDEFINED = ['bridge', 'host', 'none', 'default', 'private'];
/** Statuses in which a container holds its address. */
const ACTIVE: ContainerStatus[] = ['starting', 'running', 'restarting', 'stopping'];

export interface NetworkCreate {
  name: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  attachable?: boolean;
  options?: Record<string, string>;
}

/** A user network and the containers on it, with each one's address while it runs. */
export interface NetworkView extends NetworkRow {
  containers: Array<{ id: string; name: string; aliases: string[]; address?: string; status: ContainerStatus }>;
}

const bad = (msg: string) => new EngineError('INVALID_CONFIG', msg);
const noSuch = (ref: string) => new EngineError('NO_SUCH_NETWORK', `network ${ref} not found`, { context: { network: ref } });

/** Create a user network; returns it. */
export function createNetwork(core: EngineCore, req: NetworkCreate): NetworkRow {
  if (!NAME_RE.test(req.name)) throw bad(`Expected a network name of letters, digits, _ . and - (at most 63, starting with a letter or digit), got \`${req.name}\``);
  if (PREDEFINED.includes(req.name)) throw new EngineError('INVALID_STATE', `operation is not permitted on predefined ${req.name} network`);
  if (req.driver !== undefined && req.driver !== 'bridge')
    throw bad(`Expected the network driver to be bridge (the only one codex32 has: a routed segment per network), got \`${req.driver}\``);
  for (const k of Object.keys(req.options ?? {})) throw bad(`Network driver option \`${k}\` is not supported: codex32's networks take --subnet, --gateway, --internal and labels`);
  if (req.subnet !== undefined) {
    if (!parseSubnet(req.subnet)) throw fieldError('INVALID_CONFIG', `Expected \`subnet\` to be an IPv4 subnet such as 172.28.0.0/16 (prefix 8 to 30, no host bits), got \`${req.subnet}\``, ['subnet']);
    const clash = [{ name: 'the private network', subnet: SUBNET }, ...core.store.listNetworks().filter((n) => n.subnet).map((n) => ({ name: n.name, subnet: n.subnet! }))].find((n) =>
      overlaps(n.subnet, req.subnet!),
    );
    if (clash) throw bad(`Pool overlaps with other one on this address space: ${req.subnet} overlaps ${clash.subnet} (${clash.name})`);
  }
  if (req.gateway !== undefined) {
    if (!req.subnet) throw fieldError('INVALID_CONFIG', 'Expected `gateway` with `subnet` (the gateway is an address of the subnet)', ['gateway', 'subnet']);
    if (!overlaps(`${req.gateway}/32`, req.subnet)) throw fieldError('INVALID_CONFIG', `Expected \`gateway\` to be an address of ${req.subnet}, got \`${req.gateway}\``, ['gateway']);
  }
  const row: NetworkRow = {
    id: randomBytes(32).toString('hex'),
    name: req.name,
    createdAt: Date.now(),
    ...(req.subnet ? { subnet: req.subnet } : {}),
    ...(req.gateway ? { gateway: req.gateway } : {}),
    internal: !!req.internal,
    labels: req.labels ?? {},
    attachable: !!req.attachable,
    options: {},
  };
  core.store.tx(() => core.store.insertNetwork(row));
  return row;
}

/** A user network by name, id or unique id prefix. */
export function getNetwork(core: EngineCore, ref: string): NetworkRow {
  const all = core.store.listNetworks();
  const exact = all.find((n) => n.name === ref || n.id === ref);
  if (exact) return exact;
  const byPrefix = ref.length >= 1 && /^[0-9a-f]+$/.test(ref) ? all.filter((n) => n.id.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw bad(`network ${ref} is ambiguous (${byPrefix.length} matches found)`);
  throw noSuch(ref);
}

/** The network with its containers. */
export function viewNetwork(core: EngineCore, n: NetworkRow, rows = core.store.listContainers()): NetworkView {
  const containers = rows.flatMap((r) => {
    const a = r.config.networks.find((x) => x.name === n.name);
    if (!a) return [];
    const address = ACTIVE.includes(r.status) ? networkAddress(r.id) : undefined;
    return [{ id: r.id, name: r.name, aliases: a.aliases, status: r.status, ...(address ? { address } : {}) }];
  });
  return { ...n, containers };
}

/** Every user network with its containers. */
export function listNetworks(core: EngineCore): NetworkView[] {
  const rows = core.store.listContainers();
  return core.store.listNetworks().map((n) => viewNetwork(core, n, rows));
}

/** Remove a network no running container is on; returns it. */
export async function removeNetwork(core: EngineCore, ref: string): Promise<NetworkRow> {
  if (PREDEFINED.includes(ref)) throw new EngineError('INVALID_STATE', `${ref} is a pre-defined network and cannot be removed`);
  const n = getNetwork(core, ref);
  core.store.tx(() => {
    const active = viewNetwork(core, n).containers.filter((c) => ACTIVE.includes(c.status));
    if (active.length)
      throw new EngineError('INVALID_STATE', `error while removing network: network ${n.name} id ${n.id} has active endpoints (${active.map((c) => c.name).join(', ')}). Stop or disconnect them first.`, {
        context: { network: n.name },
      });
    core.store.deleteNetwork(n.id);
  });
  await dropNetworkSet(n.id);
  return n;
}

/** Remove every network no container is on; returns their names. */
export async function pruneNetworks(core: EngineCore, keep: (n: NetworkRow) => boolean = () => false): Promise<string[]> {
  const used = new Set(core.store.listContainers().flatMap((r) => r.config.networks.map((a) => a.name)));
  const gone: string[] = [];
  for (const n of core.store.listNetworks()) {
    if (used.has(n.name) || keep(n)) continue;
    core.store.tx(() => core.store.deleteNetwork(n.id));
    await dropNetworkSet(n.id);
    gone.push(n.name);
  }
  return gone;
}

/**
 * Check a new container's networks: each exists (given by name or id; stored by name), none twice, and the
 * container has a network namespace with a routed interface (private mode). Returns them canonical.
 */
export function resolveAttachments(core: EngineCore, wanted: NetworkAttachment[], mode: string): NetworkAttachment[] {
  if (!wanted.length) return [];
  if (mode !== 'private') throw fieldError('INVALID_CONFIG', `Expected a container on a user network (\`networks\`) to have a network of its own, got \`network\` ${mode} beside it`, ['networks', 'network']);
  const out: NetworkAttachment[] = [];
  for (const a of wanted) {
    const n = getNetwork(core, a.name);
    if (out.some((o) => o.name === n.name)) throw bad(`Expected each network once, got \`${n.name}\` twice`);
    out.push({ name: n.name, aliases: [...new Set(a.aliases)] });
  }
  return out;
}

/** Check a new container's links: each names an existing container (stored by its name). */
export function resolveLinks(core: EngineCore, links: Array<{ name: string; alias: string }>, networks: NetworkAttachment[]): Array<{ name: string; alias: string }> {
  if (links.length && !networks.length) throw fieldError('INVALID_CONFIG', 'Expected `links` with a user network (`networks`): links name containers of a network this one shares', ['links', 'networks']);
  return links.map((l) => {
    const target = core.store.getContainer(l.name) ?? core.store.findByIdPrefix(l.name)[0];
    if (!target) throw bad(`could not get container for ${l.name}: no such container (a link names an existing container)`);
    return { name: target.name, alias: l.alias };
  });
}

/** Connect a container to a network (created or running: a running one is reachable and named at once). */
export async function connectNetwork(core: EngineCore, netRef: string, containerRef: string, aliases: string[] = []): Promise<void> {
  const n = getNetwork(core, netRef);
  const changed = core.store.tx(() => {
    const row = core.get(containerRef);
    if (row.config.isolation === 'minimal' || networkMode(row.config) !== 'private')
      throw new EngineError('INVALID_STATE', `container ${row.name} cannot be connected to ${n.name}: it is on the ${networkMode(row.config)} network (a user network needs a network of its own: --network private or a user network at create)`);
    const cur = row.config.networks.find((a) => a.name === n.name);
    if (cur && cur.aliases.join() === aliases.join()) return false;
    const networks = [...row.config.networks.filter((a) => a.name !== n.name), { name: n.name, aliases: [...new Set(aliases)] }];
    core.store.updateConfig(row.id, { ...row.config, networks });
    return ACTIVE.includes(row.status);
  });
  if (changed) await syncNetworks(core);
}

/** Disconnect a container from a network. */
export async function disconnectNetwork(core: EngineCore, netRef: string, containerRef: string): Promise<void> {
  const n = getNetwork(core, netRef);
  const changed = core.store.tx(() => {
    const row = core.get(containerRef);
    if (!row.config.networks.some((a) => a.name === n.name)) throw new EngineError('INVALID_STATE', `container ${row.name} is not connected to network ${n.name}`);
    core.store.updateConfig(row.id, { ...row.config, networks: row.config.networks.filter((a) => a.name !== n.name) });
    return ACTIVE.includes(row.status) && row.id;
  });
  if (changed) await syncNetworks(core, { ids: [changed] });
}

/** The subnet a starting container's address comes from: its first user network's, if that has one. */
export function subnetFor(core: EngineCore, row: ContainerRow): string | undefined {
  const first = row.config.networks[0];
  return first ? core.store.listNetworks().find((n) => n.name === first.name)?.subnet : undefined;
}

/**
 * Make every network's address set and every member's /etc/hosts match the running containers. `leaving`
 * are containers just taken off (their hosts file is rewritten without the network) and addresses just
 * given up (taken out of the internal set: another container may lease them next).
 *
 * The plan is read under the database's lock, but nft runs outside it, asynchronously: holding the lock
 * (and the event loop) across nft stalled every other caller. Two processes may then apply in the wrong
 * order; so each looks again after applying and applies again until what it applied is still the plan.
 * Whoever applies last has looked after that, so the host always ends on the latest plan. `started` is
 * what a start already put in its own transaction (startMembership): its hosts files are left to write.
 */
export async function syncNetworks(core: EngineCore, leaving: { ids?: string[]; addresses?: string[] } = {}, started?: StartedMembership): Promise<void> {
  let plan = started?.plan ?? membershipPlan(core, leaving);
  // a start that only added its own address leaves the sets alone after: it removed nothing, and whoever
  // rebuilds them (and so may have removed it) looks again after that and puts it back
  const addedOnly = started && !started.rebuilt;
  for (let round = 0; round < 10; round++) {
    if (plan.apply && plan !== started?.plan && !addedOnly) {
      await applyMembership(plan.members, plan.closed, plan.open);
      clearStale(plan.stale); // every set is rebuilt without the addresses given up before the plan
    }
    await writeMembersHosts(core, plan.live, plan.addr);
    const again = membershipPlan(core, leaving);
    if (again.key === plan.key) return;
    plan = again;
  }
}

/** What syncNetworks applies. */
export type MembershipPlan = ReturnType<typeof membershipPlan>;

/**
 * A start's membership: the plan (its own address leased) as nft lines for the start's own transaction:
 * its address added to its sets, or every set rebuilt when one may hold the address still (\`stale\`).
 * The start then finishes it with finishMembership.
 */
export function startMembership(core: EngineCore, address: string, stale: boolean): StartedMembership {
  const plan = membershipPlan(core, {});
  if (stale) return { plan, nft: membershipNft(plan.members, plan.closed, plan.open), rebuilt: true };
  const mine = plan.members.filter((n) => n.addresses.includes(address)).map((n) => n.id);
  return { plan, nft: memberAdds(address, mine, plan.closed.includes(address)), rebuilt: false };
}

/** A start's membership: its plan, the nft lines, and whether they rebuild every set or only add its address. */
export interface StartedMembership {
  plan: MembershipPlan;
  nft: MembershipNft;
  rebuilt: boolean;
}

/** After a start's transaction: the stale marks a rebuild cleared, the hosts files, and a look again. */
export async function finishMembership(core: EngineCore, m: StartedMembership): Promise<void> {
  if (m.rebuilt) clearStale(m.plan.stale);
  await syncNetworks(core, {}, m);
}

/** What syncNetworks applies, read in one transaction, with a key that says whether two plans are the same. */
function membershipPlan(core: EngineCore, leaving: { ids?: string[]; addresses?: string[] }) {
  return core.store.tx(() => {
    // read first: an address marked stale before its members are read is in none of the sets this plan builds
    const stale = staleAddresses();
    const nets = core.store.listNetworks();
    const rows = core.store.listContainers(ACTIVE).filter((r) => r.config.networks.length || leaving.ids?.includes(r.id));
    const addr = new Map(rows.map((r) => [r.id, networkAddress(r.id)]));
    const live = rows.filter((r) => addr.get(r.id));
    const members = nets.map((n) => ({ id: n.id, addresses: live.filter((r) => r.config.networks.some((a) => a.name === n.name)).map((r) => addr.get(r.id)!) }));
    const internal = new Set(nets.filter((n) => n.internal).map((n) => n.name));
    const isClosed = (r: ContainerRow) => r.config.networks.length > 0 && r.config.networks.every((a) => internal.has(a.name));
    const closed = live.filter(isClosed).map((r) => addr.get(r.id)!);
    const open = [...live.filter((r) => !isClosed(r)).map((r) => addr.get(r.id)!), ...(leaving.addresses ?? [])];
    const hosts = live.map((r) => [r.id, r.name, r.config.hostname, r.config.networks, r.config.links, r.config.addHosts]);
    const key = JSON.stringify([members, closed, open, hosts, [...addr]]);
    return { apply: nets.length > 0 || open.length > 0, members, closed, open, live, addr, key, stale };
  });
}
