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

function lookupId(layerDirs: string[], file: 'passwd' | 'group', name: string): { id: number; gid?: number } | undefined {
  for (const line of (readInLayers(layerDirs, `etc/${file}`) ?? '').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3) return { id: Number(f[2]), gid: file === 'passwd' ? Number(f[3]) : undefined };
  }
  return undefined;
}

/** Resolve an image's User ("uid", "uid:gid", "name", "name:group") against the image's own /etc files. */
export function resolveImageUser(user: string, layerDirs: string[]): { uid: number; gid: number } {
  const [u, g] = user.split(':');
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) uid = Number(u);
  else {
    const found = lookupId(layerDirs, 'passwd', u);
    if (!found) throw new EngineError('INVALID_IMAGE', `The image's user \`${u}\` is not in its /etc/passwd. Give --user UID[:GID].`);
    uid = found.id;
    gid = found.gid;
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const found = lookupId(layerDirs, 'group', g);
      if (!found) throw new EngineError('INVALID_IMAGE', `The image's group \`${g}\` is not in its /etc/group. Give --user UID:GID.`);
      gid = found.id;
    }
  }
  return { uid, gid: gid ?? uid };
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
  if (!input.user && c.User) out.user = resolveImageUser(c.User, layerDirs);
  if (out.env.HOME === undefined) out.env.HOME = (out.user?.uid ?? 0) === 0 ? '/root' : '/';
  if (input.stopSignal === undefined && c.StopSignal) out.stopSignal = parseSignal(c.StopSignal);
  if (!input.health && c.Healthcheck) {
    const h = imageHealth(c.Healthcheck);
    if (h) out.health = h;
  }
  out.labels = { ...(c.Labels ?? {}), ...input.labels };
  out.exposedPorts = Object.keys(c.ExposedPorts ?? {});
  return out;
}
