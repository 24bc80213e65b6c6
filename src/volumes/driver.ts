// The local driver: where a volume's data lives, and what its options (docker's `--opt`) mount.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseSize } from '../config/parse.js';
import { EngineError } from '../errors.js';

/** Volume names: a container name's characters; 64 allows the hex names of anonymous volumes. */
export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/** Refuse a volume name that is not [a-zA-Z0-9][a-zA-Z0-9_.-]* of at most 64 characters. */
export function validateVolumeName(name: string): string {
  if (!VOLUME_NAME_RE.test(name))
    throw new EngineError('INVALID_NAME', `Expected the volume name to match [a-zA-Z0-9][a-zA-Z0-9_.-]* with at most 64 characters, got \`${name.length > 80 ? name.slice(0, 80) + '…' : name}\``);
  return name;
}

/** The directory of a volume under the storage directory, and its data directory (docker's layout). */
export function volumePaths(storageDir: string, name: string): { dir: string; data: string } {
  const dir = join(storageDir, 'volumes', name);
  return { dir, data: join(dir, '_data') };
}

/** How a container gets a volume: its directory, a tmpfs of its own, or a bind of a host path. */
export type VolumeMount = { kind: 'dir' } | { kind: 'tmpfs'; size?: number; mode?: number } | { kind: 'bind'; device: string };

/** Check the local driver's options (type, device, o) and say what they mount; a form it lacks is refused by name. */
export function parseDriverOpts(opts: Record<string, string>): VolumeMount {
  const known = ['type', 'device', 'o'];
  const unknown = Object.keys(opts).filter((k) => !known.includes(k));
  if (unknown.length) throw new EngineError('INVALID_CONFIG', `The local volume driver has no option \`${unknown[0]}\`. Its options are type, device and o.`);
  const { type, device, o } = opts;
  if (type === undefined && device === undefined && o === undefined) return { kind: 'dir' };
  const parts = (o ?? '').split(',').filter(Boolean);
  if (type === 'tmpfs') {
    if (device !== undefined && device !== 'tmpfs') throw new EngineError('INVALID_CONFIG', `Expected \`device=tmpfs\` with \`type=tmpfs\`, got \`device=${device}\``);
    const out: { kind: 'tmpfs'; size?: number; mode?: number } = { kind: 'tmpfs' };
    for (const p of parts) {
      const [k, v] = [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)];
      if (k === 'size' && v) out.size = parseSize('the tmpfs volume\'s size', v);
      else if (k === 'mode' && /^[0-7]{3,4}$/.test(v)) out.mode = parseInt(v, 8);
      else throw new EngineError('INVALID_CONFIG', `Expected the tmpfs volume's \`o\` to hold size=SIZE and mode=OCTAL, got \`${p}\``);
    }
    return out;
  }
  if (type === 'none' && parts.includes('bind')) {
    if (parts.some((p) => p !== 'bind')) throw new EngineError('INVALID_CONFIG', `Expected \`o=bind\` alone for a bind volume, got \`o=${o}\``);
    if (!device || !isAbsolute(device)) throw new EngineError('INVALID_CONFIG', `Expected \`device\` to be an absolute host path for a bind volume, got \`${device ?? ''}\``);
    if (!existsSync(device) || !statSync(device).isDirectory()) throw new EngineError('INVALID_CONFIG', `Expected \`device\` to be an existing host directory, got \`${device}\``);
    return { kind: 'bind', device };
  }
  throw new EngineError('INVALID_CONFIG', `The local volume driver mounts \`type=tmpfs device=tmpfs [o=size=64m]\` or \`type=none o=bind device=/host/dir\`, not \`type=${type ?? ''} device=${device ?? ''} o=${o ?? ''}\`. Other file systems (nfs, ext4 on a device) are not supported.`);
}

interface MountEntry {
  source: string;
  target: string;
  readOnly: boolean;
  name?: string;
  anonymous?: boolean;
}

/** A container's mount in docker's shape (inspect's and ps's Mounts): a volume shows its name and data directory. */
export function dockerMount(v: MountEntry, storageDir?: string): Record<string, unknown> {
  if (!v.name) return { Type: 'bind', Source: v.source, Destination: v.target, Mode: v.readOnly ? 'ro' : '', RW: !v.readOnly, Propagation: 'rprivate' };
  const source = storageDir ? volumePaths(storageDir, v.name).data : v.source;
  return { Type: 'volume', Name: v.name, Source: source, Destination: v.target, Driver: 'local', Mode: v.readOnly ? 'ro' : 'z', RW: !v.readOnly, Propagation: '' };
}

/** A mount as HostConfig.Binds shows it (`SOURCE:TARGET[:ro]`, a volume by name); anonymous volumes are not binds. */
export function dockerBind(v: MountEntry): string | undefined {
  if (v.anonymous) return undefined;
  return `${v.name ?? v.source}:${v.target}${v.readOnly ? ':ro' : ''}`;
}
