// The engine's user-network calls, as `engine.network.*` (like `engine.image.*`).
import { EngineError } from '../errors.js';
import { rootlessHost } from '../runtime/rootless.js';
import type { NetworkRow } from '../state/types.js';
import { pruneFilter, type PruneFilters } from './prunefilter.js';
import type { EngineCore } from './core.js';
import { connectNetwork, createNetwork, disconnectNetwork, getNetwork, listNetworks, pruneNetworks, removeNetwork, viewNetwork, type NetworkCreate, type NetworkView } from './usernets.js';

export type { NetworkCreate, NetworkView } from './usernets.js';

/** User networks: containers on one reach each other on every port and resolve each other's names. */
export class EngineNetworks {
  constructor(private readonly core: EngineCore) {}

  /** Create a user network. */
  create(req: NetworkCreate): NetworkRow {
    // rootless: a user network is a bridge of veth pairs with nftables rules, all of which need root
    if (rootlessHost())
      throw new EngineError('HOST_UNSUPPORTED', `Cannot create network ${req.name}: codex32 runs rootless, and user networks need root (veth pairs and nftables rules). Use each container's own private network (pasta) with -p, or run codex32 as root.`);
    return createNetwork(this.core, req);
  }

  /** Every user network with its containers. */
  list(): NetworkView[] {
    return listNetworks(this.core);
  }

  /** One network (name, id or unique id prefix) with its containers. */
  inspect(ref: string): NetworkView {
    return viewNetwork(this.core, getNetwork(this.core, ref));
  }

  /** Remove a network no running container is on. */
  remove(ref: string): Promise<NetworkRow> {
    return removeNetwork(this.core, ref);
  }

  /** Remove every network no container is on and docker's prune filters (until, label, label!) let go; their names. */
  prune(filters: PruneFilters = {}): Promise<string[]> {
    const go = pruneFilter(filters);
    return pruneNetworks(this.core, (n) => !go(n));
  }

  /** Put a container on a network, with aliases. */
  connect(network: string, container: string, aliases: string[] = []): Promise<void> {
    return connectNetwork(this.core, network, container, aliases);
  }

  /** Take a container off a network. */
  disconnect(network: string, container: string): Promise<void> {
    return disconnectNetwork(this.core, network, container);
  }
}
