// Cluster mode's one port: an nftables rule that DNATs each new connection to 127.0.0.1:PORT to the
// next running instance (`numgen inc mod N`), as kube-proxy's nftables mode does. The kernel balances,
// so no process has to stay up for it, and any program that listens on PORT is balanced, in any language.
import { createHash } from '../lazy.js';
import { connect } from 'node:net';
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import { nft, TABLE } from '../runtime/nftables.js';
import { networkAddress } from '../runtime/network.js';
import { portTaken } from '../runtime/ports.js';

/** The rule's comment: the storage directory's and the group's, so two storage directories never touch each other's. */
export function balancerTag(storageDir: string, group: string): string {
  return `c32lb:${createHash('sha256').update(storageDir).digest('hex').slice(0, 10)}:${group}`;
}

/** The rules carrying the tag, as nft lists them (none when the table does not exist yet). */
async function rules(tag: string): Promise<string[]> {
  let listing: string;
  try {
    listing = await nft('', ['-a', 'list', 'chain', 'ip', TABLE, 'ports']);
  } catch {
    return [];
  }
  const marker = `comment "${tag}"`;
  return listing.split('\n').filter((l) => l.includes(marker));
}

/** The private addresses of the named containers that are running now, in name order. */
export function runningAddresses(engine: ContainerEngine, containers: string[]): string[] {
  const out: string[] = [];
  for (const name of [...containers].sort()) {
    const row = engine.store.getContainer(name);
    if (!row || row.status !== 'running') continue;
    const address = networkAddress(row.id);
    if (address) out.push(address);
  }
  return out;
}

/** Each group's balance calls of this process, one after another (stops of several instances run at once). */
const queues = new Map<string, Promise<unknown>>();

/**
 * Point 127.0.0.1:port at exactly these addresses, in one nft transaction (the old rule goes as the new one
 * comes, so no connection finds neither); none removes the rule. Connections already made keep their instance.
 */
export function balance(storageDir: string, group: string, port: number, addresses: string[]): Promise<void> {
  const tag = balancerTag(storageDir, group);
  const next = (queues.get(tag) ?? Promise.resolve()).catch(() => undefined).then(() => rebalanceOnce(tag, group, port, addresses));
  queues.set(tag, next);
  return next;
}

async function rebalanceOnce(tag: string, group: string, port: number, addresses: string[]): Promise<void> {
  // another process may delete the rule between our listing and our transaction (its handle is then gone):
  // list again and retry, a few times
  for (let attempt = 0; ; attempt++) {
    const listed = await rules(tag);
    const map = addresses.map((a, i) => `${i} : ${a}`).join(', ');
    // already so (a periodic check): nothing to rewrite
    if (listed.length === 1 && addresses.length && listed[0].includes(`dport ${port} dnat to numgen inc mod ${addresses.length} map { ${map} }`)) return;
    const old = listed.map((l) => /# handle (\d+)/.exec(l)?.[1]).filter((h): h is string => !!h);
    if (!old.length && addresses.length && (await portTaken('127.0.0.1', port, 'tcp')))
      throw new EngineError('INVALID_STATE', `Cannot balance ${group} on 127.0.0.1:${port}: another program on this host listens there. Stop it, or give the bots another port.`, { context: { bot: group, port } });
    const lines = [`add table ip ${TABLE}`, `add chain ip ${TABLE} ports`, ...old.map((h) => `delete rule ip ${TABLE} ports handle ${h}`)];
    if (addresses.length)
      lines.push(`add rule ip ${TABLE} ports ip daddr 127.0.0.1 tcp dport ${port} dnat to numgen inc mod ${addresses.length} map { ${map} } : ${port} comment "${tag}"`);
    if (!old.length && !addresses.length) return;
    try {
      await nft(lines.join('\n') + '\n');
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

/** Wait until address:port accepts a TCP connection; false when timeoutMs passes first. */
export async function accepting(address: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ host: address, port, timeout: 1000 });
      s.once('connect', () => (s.destroy(), res(true)));
      s.once('error', () => res(false));
      s.once('timeout', () => (s.destroy(), res(false)));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
