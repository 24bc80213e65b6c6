// What `codex32 info` says of a rootless engine: the user's ranges, its network and the limits it can have.
import type { HostInfo } from './probe.js';
import { rootlessMaps } from './rootless.js';

const range = (m: Array<[number, number, number]>) => m.map(([i, o, n]) => (n === 1 ? `${i}->${o}` : `${i}-${i + n - 1}->${o}-${o + n - 1}`)).join(', ');

/** The info lines of a rootless engine; none as root. */
export function rootlessLines(info: Pick<HostInfo, 'rootless' | 'cgroup'>): string[] {
  const h = info.rootless;
  if (!h) return [];
  const maps = rootlessMaps(h);
  const cgroups = Object.keys(info.cgroup.controllers);
  return [
    `Rootless:           yes, as ${h.user} (uid ${h.uid}); ${h.missing.length ? `standard and strict missing ${h.missing.join('; ')}` : `container uids ${range(maps.uid)}, gids ${range(maps.gid)} (strict maps the same)`}`,
    `Rootless network:   ${h.networkMissing.length ? `private missing ${h.networkMissing.join('; ')}` : `private through pasta (-p from port ${h.lowestPort} up)`}; none; host. No user networks, links or bandwidth limits`,
    `Rootless limits:    ${cgroups.length ? `the user's systemd manager's delegated cgroup, controllers ${cgroups.join(', ')}` : 'no delegated cgroup: --memory, --memory-swap, --pids, --cpus, --cpu-shares and block I/O are refused'}; --nofile, --cpu-time and --fsize (rlimits) work`,
  ];
}
