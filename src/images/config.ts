// An OCI image's config applied to a container's config with docker's rules: the user's flags win.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSignal } from '../config/parse.js';
import type { ContainerConfig } from '../config/schema.js';
import { EngineError } from '../errors.js';
import type { OciImage } from './catalog.js';
import type { ImageConfig } from './manifest.js';

type HealthInput = NonNullable<ContainerConfig['health']>;

/** The file at path in the merged image: the topmost layer that has it (layers listed bottom first). */
function readInLayers(layerDirs: string[], path: string): string | undefined {
  for (let i = layerDirs.length - 1; i >= 0; i--) {
    try {
      return readFileSync(join(layerDirs[i], path), 'utf8');
    } catch {
      /* not in this layer */
    }
  }
  return undefined;
}

/** A reader of the container's own /etc/passwd or /etc/group (an image's layers, or the host's for host images). */
export type EtcReader = (file: 'passwd' | 'group') => string | undefined;

/** The reader of an OCI image's /etc files, layers bottom first. */
export const layerEtc = (layerDirs: string[]): EtcReader => (file) => readInLayers(layerDirs, `etc/${file}`);

/** The passwd or group entry whose name (or, by number, id) is key. */
function lookupEntry(etc: EtcReader, file: 'passwd' | 'group', key: string): { id: number; gid?: number } | undefined {
  const byId = /^\d+$/.test(key);
  for (const line of (etc(file) ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && (byId ? f[2] === key : f[0] === key)) return { id: Number(f[2]), gid: file === 'passwd' ? Number(f[3]) : undefined };
  }
  return undefined;
}

/**
 * Resolve a user as docker does ("name", "uid", "name:group", "uid:gid", any mix) against the container's
 * own /etc files: a name must be there; a bare uid takes its entry's primary group, else 0.
 */
export function resolveUser(user: string, etc: EtcReader, field = '--user'): { uid: number; gid: number } {
  const [u = '', g] = user.split(':');
  if (!u || user.split(':').length > 2) throw new EngineError('INVALID_CONFIG', `Expected \`${field}\` as NAME, UID, NAME:GROUP or UID:GID, got \`${user}\``);
  const entry = lookupEntry(etc, 'passwd', u);
  if (!entry && !/^\d+$/.test(u)) throw new EngineError('INVALID_CONFIG', `unable to find user ${u}: no matching entries in passwd file`);
  const uid = entry?.id ?? Number(u);
  let gid = entry?.gid ?? 0;
  if (g !== undefined && g !== '') {
    const group = lookupEntry(etc, 'group', g);
    if (!group && !/^\d+$/.test(g)) throw new EngineError('INVALID_CONFIG', `unable to find group ${g}: no matching entries in group file`);
    gid = group?.id ?? Number(g);
  }
  const max = 2 ** 32 - 2;
  if (uid > max || gid > max) throw new EngineError('INVALID_CONFIG', `Expected \`${field}\` ids from 0 to ${max}, got \`${user}\``);
  return { uid, gid };
}

/** The /etc files a container of this image sees: its layers, its imported root, else the host's (bound read-only). */
export function imageEtc(image: { kind: string; layers?: string[]; rootfs?: string }): EtcReader {
  if (image.kind === 'oci') return layerEtc(image.layers ?? []);
  const root = image.kind === 'rootfs' && image.rootfs ? image.rootfs : '/';
  return (file) => {
    try {
      return readFileSync(join(root, 'etc', file), 'utf8');
    } catch {
      return undefined;
    }
  };
}

/** Resolve an image's own User against its layers. */
export function resolveImageUser(user: string, layerDirs: string[]): { uid: number; gid: number } {
  return resolveUser(user, layerEtc(layerDirs), 'User of the image');
}

/** A docker HEALTHCHECK as codex32's health check; undefined for none or NONE. */
function imageHealth(h: NonNullable<NonNullable<ImageConfig['config']>['Healthcheck']>): HealthInput | undefined {
  const test = h.Test ?? [];
  let cmd: string[];
  if (test[0] === 'CMD') cmd = test.slice(1);
  else if (test[0] === 'CMD-SHELL') cmd = ['sh', '-c', test.slice(1).join(' ')];
  else return undefined;
  if (!cmd.length) return undefined;
  const ms = (ns?: number) => (ns && ns > 0 ? Math.max(1, Math.round(ns / 1e6)) : undefined);
  const out: HealthInput = { cmd };
  if (ms(h.Interval)) out.intervalMs = ms(h.Interval);
  if (ms(h.Timeout)) out.timeoutMs = ms(h.Timeout);
  if (ms(h.StartPeriod) !== undefined) out.startPeriodMs = ms(h.StartPeriod);
  if (h.Retries && h.Retries > 0) out.retries = h.Retries;
  return out;
}

/**
 * Merge the image's config under the user's: Entrypoint and Cmd by docker's rules (`--entrypoint`
 * resets Cmd; a command replaces Cmd), Env under -e, WorkingDir, User, StopSignal, Healthcheck and
 * Labels where the user gave none, ExposedPorts recorded. layerDirs are bottom first.
 */
export function applyImageConfig(input: ContainerConfig, image: OciImage, layerDirs: string[]): ContainerConfig {
  const c = image.doc.config.config ?? {};
  const out: ContainerConfig = { ...input, imageId: image.id };
  const command = input.command ?? [];
  if (input.entrypoint !== undefined) out.command = command;
  else {
    out.entrypoint = c.Entrypoint ?? [];
    out.command = command.length ? command : (c.Cmd ?? []);
  }
  if (![...(out.entrypoint ?? []), ...out.command].length)
    throw new EngineError('INVALID_CONFIG', `The image ${input.image} has no Entrypoint or Cmd. Give a command after the image, e.g. \`codex32 run ${input.image} sh\`.`);
  const env: Record<string, string> = {};
  for (const kv of c.Env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  out.env = { ...env, ...input.env };
  if (!input.workdir && c.WorkingDir) {
    if (!c.WorkingDir.startsWith('/')) throw new EngineError('INVALID_IMAGE', `The image's WorkingDir must be absolute, got \`${c.WorkingDir}\``);
    out.workdir = c.WorkingDir;
  }
  if (!input.user && !input.userName && c.User) out.user = resolveImageUser(c.User, layerDirs);
  if (out.env.HOME === undefined) out.env.HOME = (out.user?.uid ?? 0) === 0 ? '/root' : '/';
  if (input.stopSignal === undefined && c.StopSignal) out.stopSignal = parseSignal(c.StopSignal);
  if (!input.health && c.Healthcheck) {
    const h = imageHealth(c.Healthcheck);
    if (h) out.health = h;
  }
  out.labels = { ...(c.Labels ?? {}), ...input.labels };
  out.exposedPorts = [...new Set([...Object.keys(c.ExposedPorts ?? {}), ...(input.exposedPorts ?? [])])]; // the image's and --expose's
  return out;
}
