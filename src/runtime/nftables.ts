// nftables rules of the private network: NAT out, published ports in, and the walls between.
import { runCommand } from './command.js';
import { createHash } from '../lazy.js';
import { EngineError } from '../errors.js';
import type { PortMapping } from '../config/schema.js';

export const TABLE = 'codex32';
/** Host-side interfaces of private containers all start with this (nft matches "c32-*"). */
export const IF_PREFIX = 'c32-';
export const SUBNET = '10.89.0.0/16';
export const GATEWAY = '10.89.0.1';

/** Run nft with a script on stdin; failures become RUNTIME_FAILED with nft's own words. */
export async function nft(script: string, args: string[] = ['-f', '-']): Promise<string> {
  const r = await runCommand('nft', args, script).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  if (r.code !== 0) throw new EngineError('RUNTIME_FAILED', `nftables refused the private network's rules: ${r.stderr.trim() || `nft exited with ${r.code}`}`);
  return r.stdout;
}

/** One chain of our table as nft lists it with handles, or undefined when the table is not there. */
export async function listChain(chain: string): Promise<string | undefined> {
  const r = await runCommand('nft', ['-a', 'list', 'chain', 'ip', TABLE, chain]).catch(() => undefined);
  return r?.code === 0 ? r.stdout : undefined;
}

/**
 * The table's fixed chains, rewritten whole in one transaction (so concurrent starts converge);
 * the `ports` chain keeps each container's published ports between rewrites.
 */
export function baseRules(loopbackDns?: string): string {
  const c = `ip ${TABLE}`;
  const any = `"${IF_PREFIX}*"`;
  const lines = [
    `add table ${c}`,
    `add chain ${c} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${c} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${c} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ${c} forward { type filter hook forward priority filter; policy accept; }`,
    `add chain ${c} input { type filter hook input priority filter; policy accept; }`,
    `add chain ${c} ports`,
    // user networks (usernet.ts): a set of addresses per network, the rules between them in \`members\`
    `add chain ${c} members`,
    `add set ${c} internal { type ipv4_addr; }`,
    ...['prerouting', 'output', 'postrouting', 'forward', 'input'].map((ch) => `flush chain ${c} ${ch}`),
    // published ports: any address of this host (loopback too, from the host itself)
    `add rule ${c} prerouting fib daddr type local jump ports`,
    `add rule ${c} output fib daddr type local jump ports`,
    // out to the world under the host's address; host-loopback clients and hairpins under the gateway's
    `add rule ${c} postrouting iifname ${any} oifname != ${any} masquerade`,
    `add rule ${c} postrouting ip saddr 127.0.0.0/8 oifname ${any} masquerade`,
    `add rule ${c} postrouting iifname ${any} oifname ${any} ct status dnat masquerade`,
    // a container whose every user network is internal has no way out
    `add rule ${c} forward iifname ${any} oifname != ${any} ip saddr @internal drop`,
    // containers reach each other through published ports, and on a user network they share
    `add rule ${c} forward iifname ${any} oifname ${any} ct status dnat accept`,
    `add rule ${c} forward iifname ${any} oifname ${any} jump members`,
    `add rule ${c} forward iifname ${any} oifname ${any} drop`,
    // and the host itself not at all, except the answers to what the host opened (and DNS below)
    `add rule ${c} input iifname ${any} ct state established,related accept`,
  ];
  if (loopbackDns) {
    // the host resolves through a loopback server: the gateway's port 53 leads to it, nothing else does
    lines.push(`add rule ${c} prerouting iifname ${any} ip daddr ${GATEWAY} meta l4proto { tcp, udp } th dport 53 dnat to ${loopbackDns}`);
    lines.push(`add rule ${c} input iifname ${any} ct status dnat ip daddr ${loopbackDns} meta l4proto { tcp, udp } th dport 53 accept`);
  }
  const body = lines.join('\n');
  // the last rule names this version of the chains: a start that finds it in place skips the rewrite
  return `${body}\nadd rule ${c} input iifname ${any} drop comment "base:${createHash('sha256').update(body).digest('hex').slice(0, 16)}"\n`;
}

/** A rule to add unless a listing already holds its comment. */
export interface TaggedRule {
  tag: string;
  rule: string;
}

/**
 * The shell step that puts a start's rules in one nftables transaction: the fixed chains (`base`) only
 * when the table lacks this version of them, then \`rest\` (published ports, memberships), then each of
 * \`once\` whose comment the \`members\` chain lacks. Rewriting the fixed chains flushes hooked chains,
 * which costs the kernel a grace period (about 14 ms a start here, where adding rules costs 4); and a
 * start with nothing to add runs no transaction at all. Every word is ours: addresses, numbers, hex ids.
 */
export function startRules(base: string, rest: string, once: TaggedRule[]): string {
  const tag = /comment "(base:[0-9a-f]+)"\n$/.exec(base)![1];
  // one listing: the input chain holds the marker; with rules to add once, the whole table without set elements
  const listed = `l=$(nft ${once.length ? `-t list table ip ${TABLE}` : `list chain ip ${TABLE} input`} 2>/dev/null)`;
  const ifStale = (body: string) => `case "$l" in *'"${tag}"'*) ;; *) ${body}\n${base.trimEnd()}\nC32_BASE\n;; esac`;
  if (!rest && !once.length) return `${listed}\n${ifStale("nft -f - <<'C32_BASE'")}`;
  const lines = [listed, '{', ifStale("cat <<'C32_BASE'")];
  if (rest) lines.push(`cat <<'C32_REST'\n${rest.trimEnd()}\nC32_REST`);
  for (const r of once) lines.push(`case "$l" in *'"${r.tag}"'*) ;; *) echo '${r.rule}' ;; esac`);
  lines.push('} | nft -f -');
  return lines.join('\n');
}

const tag = (id: string) => `c32:${id}`;

/** Rules forwarding each published port to the container's address. */
export function portRules(id: string, address: string, ports: PortMapping[]): string {
  return ports
    .map((p) => {
      const daddr = p.hostIp === '0.0.0.0' ? '' : `ip daddr ${p.hostIp} `;
      return `add rule ip ${TABLE} ports ${daddr}${p.protocol} dport ${p.hostPort} dnat to ${address}:${p.containerPort} comment "${tag(id)}"\n`;
    })
    .join('');
}

/**
 * A shell snippet that deletes the container's published-port rules (found by their comment in the
 * listing); quiet when the table is not there, and failing with nft's words when nft refuses. A shell
 * snippet so that a stop starts one process, not one per nft call: each start of a process stalls the
 * event loop of a large Node process (a fork on its thread).
 */
export function portRulesRemoval(id: string): string {
  // the id is ours (hex): nothing here comes from a user
  return [
    `h=$(nft -a list chain ip ${TABLE} ports 2>/dev/null | sed -n '/comment "${tag(id)}"/s/.*# handle \\([0-9]*\\).*/\\1/p')`,
    `if [ -n "$h" ]; then for x in $h; do echo "delete rule ip ${TABLE} ports handle $x"; done | nft -f - || exit 1; fi`,
  ].join('\n');
}
