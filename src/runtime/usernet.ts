// User networks on the host: which addresses may reach which. Every container keeps its own routed /32
// veth (network.ts); a user network is a set of those addresses in nftables, and containers whose sets
// meet reach each other on every port. No bridge and no process per network or per container.
import { listChain, nft, TABLE, type TaggedRule } from './nftables.js';

/** The nftables set of a network's addresses (set names hold at most 16 bytes). */
export const setName = (networkId: string) => `n_${networkId.slice(0, 12)}`;

export interface NetworkMembers {
  id: string;
  addresses: string[];
}

const ruleTag = (networkId: string) => `net:${networkId.slice(0, 12)}`;

/** The networks whose rule is in the `members` chain now, with each rule's handle (one storage's or another's). */
async function memberRules(): Promise<Map<string, string>> {
  const listing = await listChain('members');
  if (listing === undefined) return new Map(); // no table yet
  const out = new Map<string, string>();
  for (const l of listing.split('\n')) {
    const m = /comment "net:([0-9a-f]{12})" # handle (\d+)/.exec(l);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** What every membership transaction begins with: the table, the members chain and the internal set, made if missing. */
const preamble = () => [`add table ip ${TABLE}`, `add chain ip ${TABLE} members`, `add set ip ${TABLE} internal { type ipv4_addr; }`];

/**
 * One nftables transaction for one storage directory's networks: each network's set holds exactly its
 * members' addresses and has its rule in \`members\`; the \`internal\` set holds \`closed\` and not \`open\`
 * (adding then deleting an element is how nft removes one that may be absent). The table is shared with
 * every other storage directory on the host, so nothing here is flushed but this storage's own sets.
 */
export function membershipScript(networks: NetworkMembers[], closed: string[], open: string[], ruled: Set<string>): string {
  const c = `ip ${TABLE}`;
  const lines = preamble();
  for (const n of networks) {
    const set = setName(n.id);
    lines.push(`add set ${c} ${set} { type ipv4_addr; }`, `flush set ${c} ${set}`);
    if (n.addresses.length) lines.push(`add element ${c} ${set} { ${n.addresses.join(', ')} }`);
    if (!ruled.has(n.id.slice(0, 12))) lines.push(memberRule(n.id).rule);
  }
  if (open.length) lines.push(`add element ${c} internal { ${open.join(', ')} }`, `delete element ${c} internal { ${open.join(', ')} }`);
  if (closed.length) lines.push(`add element ${c} internal { ${closed.join(', ')} }`);
  return lines.join('\n') + '\n';
}

/** A network's rule in the `members` chain, with the comment that finds it. */
function memberRule(networkId: string): TaggedRule {
  const set = setName(networkId);
  return { tag: ruleTag(networkId), rule: `add rule ip ${TABLE} members ip saddr @${set} ip daddr @${set} accept comment "${ruleTag(networkId)}"` };
}

/** Membership folded into a start's own nftables transaction (network.ts): the sets, and each network's rule unless listed. */
export interface MembershipNft {
  /** nft lines for the sets and the internal set (no rules) */
  script: string;
  /** each network's rule, put in when the `members` chain's listing lacks its comment */
  rules: TaggedRule[];
}

/** Every set rebuilt, as a start's transaction carries it (see MembershipNft). */
export function membershipNft(networks: NetworkMembers[], closed: string[], open: string[]): MembershipNft {
  return { script: membershipScript(networks, closed, open, new Set(networks.map((n) => n.id.slice(0, 12)))), rules: networks.map((n) => memberRule(n.id)) };
}

/**
 * One starting member's address added to its networks' sets (and to \`internal\` when it has no way
 * out), nothing removed: removing costs the kernel a grace period, adding does not. Only for an address
 * no set can hold already (network.ts marks every address given up until the sets are rebuilt).
 */
export function memberAdds(address: string, networkIds: string[], closed: boolean): MembershipNft {
  const c = `ip ${TABLE}`;
  const lines = preamble();
  for (const id of networkIds) lines.push(`add set ${c} ${setName(id)} { type ipv4_addr; }`, `add element ${c} ${setName(id)} { ${address} }`);
  if (closed) lines.push(`add element ${c} internal { ${address} }`);
  return { script: lines.join('\n') + '\n', rules: networkIds.map(memberRule) };
}

/** Apply one storage directory's membership (see membershipScript). */
export async function applyMembership(networks: NetworkMembers[], closed: string[], open: string[]): Promise<void> {
  await nft(membershipScript(networks, closed, open, new Set((await memberRules()).keys())));
}

/** Remove a deleted network's rule and set; quiet when they are not there (another boot). */
export async function dropNetworkSet(networkId: string): Promise<void> {
  const handle = (await memberRules()).get(networkId.slice(0, 12));
  try {
    await nft(`${handle ? `delete rule ip ${TABLE} members handle ${handle}\n` : ''}delete set ip ${TABLE} ${setName(networkId)}\n`);
  } catch {
    /* never populated on this boot */
  }
}

/** A subnet in CIDR form as numbers: its first address and its prefix length. */
export function parseSubnet(cidr: string): { base: number; prefix: number } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix < 8 || prefix > 30) return undefined;
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) return undefined; // host bits set: docker refuses it too
  return { base: addr, prefix };
}

/** An address as dotted text. */
export const dotted = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** Whether two CIDR subnets share an address. */
export function overlaps(a: string, b: string): boolean {
  const x = parseSubnet(a);
  const y = parseSubnet(b);
  if (!x || !y) return false;
  const end = (s: { base: number; prefix: number }) => s.base + 2 ** (32 - s.prefix) - 1;
  return x.base <= end(y) && y.base <= end(x);
}
