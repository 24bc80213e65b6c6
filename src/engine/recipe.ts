// Run recipes: what `codex32 run` of one option set resolves to, written by Node for the native front end.
//
// The native `run` (native/cli/run.c) must create and start exactly the container Node would, without
// a second copy of config resolution, planning or the schema. So Node writes down, once per option set,
// what its own code resolved: the row's config, the start state, the cgroups and the supervisor's spec,
// with placeholders where each run differs (id, name, command, owner). The native side fills those in.
// A recipe names everything its content was derived from (the engine's code, the supervisor binary,
// the settings in the environment, the boot, the user); when any of them differs the native side hands
// the command to Node, which runs it and writes the recipe again. docs/state.md describes the format.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADJECTIVES, NOUNS } from '../config/names.js';
import type { ContainerConfig, ResolvedConfig } from '../config/schema.js';
import { cgroupLimitsFor } from '../runtime/cgroups.js';
import { LEASE_DIR, netFiles, netName, networkMode, setupSteps, stepsScript, teardownParts } from '../runtime/network.js';
import { IF_PREFIX, SUBNET } from '../runtime/nftables.js';
import { buildPlan, STRICT_ID_BASE } from '../runtime/plan.js';
import { probeHost } from '../runtime/probe.js';
import { shimPath } from '../runtime/supervisor.js';
import { MIN_FREE_BYTES } from '../state/errors.js';
import type { ContainerState, ProcRef } from '../state/types.js';
import { traverseGid } from './access.js';
import type { EngineCore } from './core.js';
import { resolveCreate } from './create.js';
import { startingState } from './lifecycle.js';
import { bootId } from './reconcile.js';

/** The recipe format this code writes; the native side reads only this one. */
export const RECIPE_VERSION = 1;
/** Placeholders the native side replaces: a container id, its name, its command, the starting process. */
export const RECIPE_ID = '0c32'.repeat(16);
export const RECIPE_NAME = '@@NAME@@';
export const RECIPE_ARGV = '@@ARGV@@';
export const RECIPE_OWNER = '@@OWNER@@';
/** ...and, on a private network, its interface and namespace name and its leased address. */
export const RECIPE_NET = '@@NET@@';
export const RECIPE_ADDR = '@@ADDR@@';
/** The settings in the environment that change what a run resolves to (compared by the native side). */
const SETTINGS_ENV = ['CONTAINER_ISOLATION_LEVEL', 'CODEX32_CGROUP_ROOT', 'CODEX32_SHIM', 'CODEX32_BOOT_ID'];

/** The file name of the recipe for `run` with these --isolation and --network values (as given, or not). */
export function recipeName(isolation: string | undefined, network: string | undefined): string {
  return `run-${isolation ?? 'default'}-${network ?? 'default'}`;
}

/** A file's identity as the native side compares it: path, size and whole-millisecond modification time. */
function fileCheck(path: string): string {
  const st = statSync(path);
  return `check=${path}\t${st.size}\t${Math.trunc(st.mtimeMs)}`;
}

/**
 * Write the recipe for `run` of `input` (the options given, an image, a command). The native side carries
 * out the host image on any network but with a published port, with no limit that writes a cgroup file,
 * no terminal, port, volume or user; for anything else the recipe says `node=1`, so the native side
 * hands such runs straight to Node without asking for a recipe again. `started` is the container this
 * very run started: its cgroup set, with its id replaced, is the set the next run gets. Returns whether
 * the native side can carry such runs out.
 */
export async function writeRunRecipe(core: EngineCore, input: ContainerConfig, started: string, file: string, codeFiles: string[]): Promise<boolean> {
  const real = core.store.getContainer(started);
  if (!real) return false;
  const { row, image, paths, createAttrs } = await resolveCreate(core, { ...input, name: undefined, command: [RECIPE_ARGV] }, { as: { id: RECIPE_ID, name: RECIPE_NAME } });
  const c = row.config;
  const limits = cgroupLimitsFor(c.isolation, c.limits, probeHost().cgroup);
  const mode = networkMode(c);
  const plain =
    image.kind === 'host' && !c.tty && !c.interactive && c.port === undefined && !c.publish.length && !c.networkBandwidth &&
    !c.volumes.length && !c.user && !c.blkio && Object.values(limits).every((v) => v === undefined) && !c.entrypoint && !c.health;
  const basis = [
    `recipe=${RECIPE_VERSION}`,
    ...codeFiles.map(fileCheck),
    fileCheck(shimPath()),
    ...SETTINGS_ENV.map((k) => (process.env[k] !== undefined ? `env=${k}=${process.env[k]}` : `noenv=${k}`)),
    `boot=${bootId()}`,
    `uid=${process.getuid?.() ?? 0}`,
  ];
  if (!plain) {
    save(core, file, [...basis, 'node=1']);
    return false;
  }
  const cgroups = real.state.cgroups && JSON.parse(JSON.stringify(real.state.cgroups).replaceAll(real.id, RECIPE_ID));
  const state: ContainerState = { ...startingState(row, RECIPE_OWNER as unknown as ProcRef, 0), cgroups };
  const net = c.isolation === 'minimal' || mode === 'host' ? [] : networkRecipe(row.config, mode === 'private');
  const netns = mode === 'private' && c.isolation !== 'minimal' ? `/run/netns/${netName(RECIPE_ID)}` : undefined;
  const plan = buildPlan({ ...row, status: 'starting', state }, image, paths, cgroups, netns);
  if (plan.entries.filter((e) => e === `arg=${RECIPE_ARGV}`).length !== 1) return false;
  const rel = (p: string) => p.slice(paths.dir.length + 1);
  const entries = [
    ...basis,
    ...plan.entries.filter((e) => e.startsWith('seccomp=')).map((e) => fileCheck(e.slice(e.indexOf(' ') + 1))),
    `min_free=${MIN_FREE_BYTES}`,
    `shim=${shimPath()}`,
    `adjectives=${ADJECTIVES.join(',')}`,
    `nouns=${NOUNS.join(',')}`,
    // the directories create and start make below the container's (mode 0700 itself), in order
    // who may pass through the container's directory (closeContainerDir), and strict's chown of app to its mapped root (prepareRun)
    ...(traverseGid(c) !== undefined ? [`dir_group=${traverseGid(c)}`] : []),
    ...(c.isolation === 'strict' ? ['search_parents=1'] : []),
    `mkdir=${rel(paths.app)}\t${0o755}`,
    `mkdir=${rel(paths.etc)}\t${0o755}`,
    ...(c.isolation !== 'minimal' ? [`mkdir=${rel(paths.newroot)}\t${0o755}`] : []),
    ...(c.isolation === 'strict' ? [`chown=${rel(paths.app)}\t${STRICT_ID_BASE}`] : []),
    `hostname=${c.hostname ?? RECIPE_NAME}`,
    ...(cgroups?.dirs ?? []).map((d: string) => `cgroup=${d}`),
    `config=${JSON.stringify(c)}`,
    `starting_state=${JSON.stringify(state)}`,
    `create_attrs=${JSON.stringify(createAttrs)}`,
    ...net,
    ...plan.entries.map((e) => `spec=${e.replaceAll(netName(RECIPE_ID), RECIPE_NET)}`),
  ];
  if (entries.some((e) => e.includes('\0'))) return false;
  save(core, file, entries);
  return true;
}

/** Replace storage/recipes/file atomically: a native run reads all of a recipe or none of it. */
function save(core: EngineCore, file: string, entries: string[]): void {
  if (!/^run-[a-z]+-[a-z]+$/.test(file)) return; // a name the native side could have asked for, never a path
  const dir = join(core.settings.storageDir, 'recipes');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, file);
  writeFileSync(`${path}.${process.pid}.tmp`, entries.map((e) => e + '\0').join(''), { mode: 0o600 });
  renameSync(`${path}.${process.pid}.tmp`, path);
}

/**
 * What a private network (or none) needs beside the spec: the network files' contents, and for a private
 * one where addresses are leased, the interface names' prefix, the set-up script and the tear-down.
 */
function networkRecipe(c: ResolvedConfig, isPrivate: boolean): string[] {
  const req = { id: RECIPE_ID, hostname: c.hostname ?? RECIPE_NAME, etcDir: '', publish: [], dns: c.dns, addHosts: c.addHosts };
  const { files, loopbackDns } = netFiles(req, isPrivate ? RECIPE_ADDR : undefined);
  const out = Object.entries(files).map(([name, text]) => `net_file=${name}\t${text}`);
  if (!isPrivate) return out;
  const name = netName(RECIPE_ID);
  return [
    ...out,
    // the resolver the host has now decides the container's resolv.conf and the DNS forward rule
    ...(existsSync('/etc/resolv.conf') ? [fileCheck('/etc/resolv.conf')] : []),
    `lease_dir=${LEASE_DIR}`,
    `lease_prefix=${SUBNET.split('.').slice(0, 2).join('.')}`,
    `net_prefix=${IF_PREFIX}`,
    `net_setup=${stepsScript(setupSteps(req, RECIPE_ADDR, loopbackDns)).replaceAll(name, RECIPE_NET)}`,
    `net_teardown=${teardownParts(RECIPE_NET).join('\n')}\n`,
  ];
}

/** The entries of a recipe file (for tests and `system check`); undefined when there is none. */
export function readRecipe(storageDir: string, file: string): string[] | undefined {
  try {
    return readFileSync(join(storageDir, 'recipes', file), 'utf8').split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
}
