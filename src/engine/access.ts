// Who may enter a container's directory: root, and at most the one host group the container runs as.
import { chmodSync, chownSync } from 'node:fs';
import type { ResolvedConfig } from '../config/schema.js';
import { STRICT_ID_BASE } from '../runtime/plan.js';
import { rootlessHost } from '../runtime/rootless.js';

/**
 * The host gid whose processes must pass through the container's directory, or undefined when only
 * root needs to: strict's mapped root reaches its own files from outside the user namespace, and a
 * minimal container run as another user runs its command from the directory's app/.
 */
export function traverseGid(config: Pick<ResolvedConfig, 'isolation' | 'user'>, idBase = STRICT_ID_BASE): number | undefined {
  // rootless strict's root is the user itself, who owns the directory
  if (config.isolation === 'strict') return rootlessHost() ? undefined : idBase;
  if (config.isolation === 'minimal' && config.user && (config.user.uid !== 0 || config.user.gid !== 0)) return config.user.gid;
  return undefined;
}

/**
 * Close a container's directory to every other local user: 0700, or 0710 with the group that must
 * pass through. Nothing below it (app, spec, state, log) is then reachable by anyone else, whatever
 * its own mode, though its path is visible in the supervisor's command line.
 */
export function closeContainerDir(dir: string, config: Pick<ResolvedConfig, 'isolation' | 'user'>, idBase?: number): void {
  const gid = traverseGid(config, idBase);
  if (gid !== undefined) chownSync(dir, process.getuid?.() ?? 0, gid);
  chmodSync(dir, gid === undefined ? 0o700 : 0o710);
}
