// Every user-network member's /etc/hosts: its own lines, then every other member of its networks by name,
// alias and short id. All members are rewritten whenever one comes or goes, so the work is shared: the
// peer lines are built once per distinct set of networks, and each member's file is that block without
// its own line. With N members on one network a rewrite is N writes, not N² line builds.
import { existsSync } from 'node:fs';
import { writeFile } from '../lazy.js';
import { hostsFile } from '../runtime/netfiles.js';
import type { ContainerRow } from '../state/types.js';
import type { EngineCore } from './core.js';

/** The peer line a member gives to a container on the networks in mine, or undefined when they share none. */
function peerLine(p: ContainerRow, mine: Set<string>, ip: string, linked: string[] = []): string | undefined {
  const shared = p.config.networks.filter((a) => mine.has(a.name));
  if (!shared.length) return undefined;
  const names = [...new Set([p.name, ...shared.flatMap((a) => a.aliases), ...linked, p.id.slice(0, 12)])];
  return `${ip}\t${names.join(' ')}\n`;
}

/** The block of peer lines for the members of one set of networks, with where each member's line sits. */
interface PeerBlock {
  text: string;
  at: Map<string, { start: number; end: number }>;
}

function peerBlock(mine: Set<string>, live: ContainerRow[], addr: Map<string, string | undefined>): PeerBlock {
  let text = '';
  const at = new Map<string, { start: number; end: number }>();
  for (const p of live) {
    const line = peerLine(p, mine, addr.get(p.id)!);
    if (!line) continue;
    at.set(p.id, { start: text.length, end: text.length + line.length });
    text += line;
  }
  return { text, at };
}

/** Rewrite in place (the container's /etc/hosts is a bind of this very file) the hosts file of each live member. */
export async function writeMembersHosts(core: EngineCore, live: ContainerRow[], addr: Map<string, string | undefined>): Promise<void> {
  const blocks = new Map<string, PeerBlock>();
  for (const row of live) {
    const file = `${core.paths(row.id).etc}/hosts`;
    if (!existsSync(file)) continue;
    const mine = new Set(row.config.networks.map((a) => a.name));
    let peers: string;
    if (row.config.links?.length) {
      // a link names a peer differently in this container alone: its lines are its own
      peers = live
        .filter((p) => p.id !== row.id)
        .map((p) => peerLine(p, mine, addr.get(p.id)!, (row.config.links ?? []).filter((l) => l.name === p.name).map((l) => l.alias)) ?? '')
        .join('');
    } else {
      const key = [...mine].sort().join('\0');
      let block = blocks.get(key);
      if (!block) blocks.set(key, (block = peerBlock(mine, live, addr)));
      const self = block.at.get(row.id);
      peers = self ? block.text.slice(0, self.start) + block.text.slice(self.end) : block.text;
    }
    const own = row.config.networks.flatMap((a) => a.aliases).filter((a) => a !== row.config.hostname);
    const head = hostsFile([row.config.hostname ?? row.name, ...new Set(own)].join(' '), addr.get(row.id), row.config.addHosts ?? []);
    await writeFile(file, head + peers); // asynchronous: a big network's rewrite must not hold the event loop
  }
}
