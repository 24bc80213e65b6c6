// The network part of a launch plan: which namespace the container joins and the /etc files it sees.
import type { ContainerRow } from '../state/types.js';
import { spec } from './contract.js';
import type { ContainerPaths } from './layout.js';
import { networkMode } from './network.js';

/** Host /etc files a container with its own network namespace gets from codex32 instead. */
export const NET_ETC = ['hosts', 'resolv.conf'];

/** Whether the container sees codex32's own /etc/hosts and resolv.conf rather than the host's. */
export function ownsNetFiles(row: ContainerRow): boolean {
  return row.config.isolation !== 'minimal' && networkMode(row.config) !== 'host';
}

/**
 * Spec entries for the container's network: a fresh namespace with only lo (none), the prepared
 * namespace of its private network (the supervisor joins it before the first run), or none at all
 * (host). netnsPath is required for private, but with pasta (rootless), whose entries name the namespace.
 */
export function networkEntries(row: ContainerRow, paths: ContainerPaths, netnsPath?: string, pasta = false): string[] {
  if (row.config.isolation === 'minimal') return [];
  const mode = networkMode(row.config);
  if (mode === 'host') return [];
  // pasta (rootless): the namespace is the container's own, asked for with the pasta entries
  // the supervisor drops the namespace's name once it has joined: the host keeps no mount per container
  const e = mode === 'none' ? [spec('netns', true)] : pasta ? [] : [spec('netns_path', netnsPath ?? ''), spec('netns_release', true)];
  e.push(spec('bind', [`${paths.etc}/hosts`, '/etc/hosts', 'ro']));
  if (mode === 'private') e.push(spec('bind', [`${paths.etc}/resolv.conf`, '/etc/resolv.conf', 'ro']));
  return e;
}
