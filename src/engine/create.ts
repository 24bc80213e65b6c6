// Create: a config resolved against settings, the host and the image, validated, then stored with its files.
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync, statSync } from 'node:fs';
import { rm } from '../lazy.js';
import { isAbsolute, normalize, resolve } from 'node:path';
import { ZodError } from 'zod';
import { generateName, newId, validateName } from '../config/names.js';
import { schemas, type ContainerConfig, type IsolationType } from '../config/schema.js';
import { EngineError, fieldError } from '../errors.js';
import { imageEtc, resolveUser } from '../images/config.js';
import { hostPlatform } from '../images/manifest.js';
import { availableParallelism } from 'node:os';
import { populateApp, resolveImage, type ContainerImage } from '../images/store.js';
import type { ContainerPaths } from '../runtime/layout.js';
import { checkBlkio } from '../runtime/blkio.js';
import { defaultNetworkMode } from '../runtime/network.js';
import { checkSecurity } from '../runtime/security.js';
import { checkCgroupLimits, swapAccounted } from '../runtime/cgroups.js';
import { checkSwap } from './update.js';
import { checkExecSize } from '../runtime/execlimits.js';
import { appRootFor, containerEnv, resolveArgv } from '../runtime/plan.js';
import { probeHost, type HostInfo } from '../runtime/probe.js';
import { checkSeccomp } from '../runtime/seccomp.js';
import { checkQuota, makeQuota, unmountQuota } from '../runtime/quota.js';
import { ensureRoom, stateError } from '../state/errors.js';
import { allocateIdRange, releaseIdRange } from '../state/idranges.js';
import { checkRootlessLimits } from '../runtime/rootless-limits.js';
import { rootlessHost } from '../runtime/rootless.js';
import type { ContainerRow } from '../state/types.js';
import { closeContainerDir } from './access.js';
import { recordEvent, type EngineCore } from './core.js';
import { resolveNetwork } from './network.js';
import { withImageConfig } from './images.js';
import { writeMeta } from './ondisk.js';
import { volumePaths } from '../volumes/driver.js';
import { isNamedSource, prepareVolumes, resolveNamed, volumesFrom } from '../volumes/mounts.js';
import { EngineVolumes } from '../volumes/service.js';
import { VolumeTable } from '../volumes/table.js';

/** A volume removed between its making and the container's insert: the create fails and can be retried. */
function prepareFailed(name: string): never {
  throw new EngineError('NO_SUCH_VOLUME', `The volume ${name} was removed while the container was being created. Run the command again.`, { context: { volume: name } });
}

const FORBIDDEN_TARGETS = ['/', '/proc', '/sys', '/dev', '/app'];

/** Parse a config with the schema; the first problem becomes an INVALID_CONFIG in the expected form. */
function parseConfig(input: ContainerConfig) {
  try {
    return schemas().ContainerConfigSchema.parse(input);
  } catch (e) {
    if (e instanceof ZodError) {
      const i = e.issues[0];
      const key = i.path.join('.') || 'config';
      throw fieldError('INVALID_CONFIG', `Expected \`${key}\` to be valid: ${i.message}`, [key], { cause: e });
    }
    throw e;
  }
}

/** What create resolved: the row it would store, the image and the container's paths; nothing written yet. */
export interface ResolvedCreate {
  row: ContainerRow;
  image: ContainerImage;
  paths: ContainerPaths;
  /** the attributes of its `create` event: the image as asked for, and the isolation it got */
  createAttrs: Record<string, unknown>;
}

/**
 * Resolve and validate a config against settings, the host and the image, without touching disk or the
 * database.
 */
export async function resolveCreate(core: EngineCore, input: ContainerConfig, options: { cwd?: string } = {}): Promise<ResolvedCreate> {
  const cfg = parseConfig(withImageConfig(core, input, options.cwd));
  const name = (cfg.name ? validateName(cfg.name) : generateName());
  const isolation = cfg.isolation ?? core.settings.isolation;
  const host = probeHost();
  const level = host.levels[isolation];
  if (!level.supported)
    throw new EngineError('HOST_UNSUPPORTED', `This host cannot give ${isolation} isolation: missing ${level.missing.join('; ')}. Run \`codex32 info\`, or choose --isolation minimal for trusted code.`, {
      context: { isolation },
    });
  checkLimits(isolation, cfg.limits, host);
  checkBlkio(cfg.blkio);
  const image = resolveImage(core.store, cfg.imageId ?? cfg.image, options.cwd);
  checkPlatform(cfg.platform, image, cfg.image);
  checkOomScore(cfg.oomScoreAdj);
  // docker's --user: a name or a bare uid is looked up in the container's own /etc files (the image's)
  if (cfg.userName !== undefined) cfg.user = resolveUser(cfg.userName, imageEtc(image));
  // /app is the app itself only for a path image or `host`; in a root filesystem image it is an ordinary path
  const appReserved = image.kind === 'path' || image.kind === 'host';
  checkSecurity({ ...cfg, isolation, network: cfg.network ?? defaultNetworkMode(isolation) }, appReserved);
  checkSeccomp(isolation, cfg.seccomp);
  checkQuota(isolation, cfg.storageSize);
  const given = checkVolumes(core, isolation, cfg.volumes, appReserved, options.cwd);
  const inherited = [...given, ...checkVolumes(core, isolation, volumesFrom(core, cfg.volumesFrom, given), appReserved, options.cwd)];
  const volumes = [...inherited, ...imageVolumes(core, image, inherited, cfg.tmpfs)];
  if (!cfg.allowHostRoot) refuseHostRoot(volumes.filter((v) => !v.name || v.source !== volumePaths(core.settings.storageDir, v.name).data), core.settings.storageDir);
  if ((image.kind === 'rootfs' || image.kind === 'oci') && isolation === 'minimal')
    throw new EngineError('INVALID_CONFIG', `The image ${cfg.image} is a root filesystem; minimal isolation runs on the host's filesystem. Use --isolation standard or strict.`);
  if (image.kind === 'oci' && image.devices && isolation === 'strict')
    throw new EngineError('INVALID_IMAGE', `The image ${cfg.image} holds ${image.devices} device node(s), which strict isolation forbids. Use --isolation standard (its root is mounted nodev), or an image without device nodes.`);
  if (cfg.workdir && isolation === 'minimal' && !existsSync(cfg.workdir))
    throw new EngineError('INVALID_CONFIG', `Expected \`-w\` to be an existing host directory under minimal isolation, got \`${cfg.workdir}\``);

  const { network, networks, links, port, env, publish } = await resolveNetwork(core, cfg, isolation);

  const id = newId();
  const paths = core.paths(id);
  const config = { ...cfg, name, isolation, volumes, env, port, network, networks, links, publish, image: image.kind === 'path' ? image.source! : cfg.image };
  const row: ContainerRow = {
    id,
    name,
    status: 'created',
    createdAt: Date.now(),
    config,
    state: { restartCount: 0, runBase: 0, restartBase: 0 },
  };
  // a command that cannot be inferred, or that execve would refuse as too large, is refused now, not at start
  checkExecSize(resolveArgv(row, image, paths), containerEnv(config, appRootFor(isolation, paths)));
  return { row, image, paths, createAttrs: { image: cfg.image, isolation } };
}

/** Validate a config and create the container (not started); returns its id and name. */
export async function createContainer(core: EngineCore, input: ContainerConfig, options: { cwd?: string } = {}): Promise<{ id: string; name: string }> {
  const { row, image, paths, createAttrs } = await resolveCreate(core, input, options);
  const { id, name, config } = row;
  ensureRoom(core.settings.storageDir, 'create the container');
  let made: string[] = [];
  // a strict container's own host uid range, held from now until its removal
  // (rootless strict maps the user's own range instead)
  const idBase = config.isolation === 'strict' && !rootlessHost() ? core.store.tx(() => allocateIdRange(core.store, id, core.settings.idRanges)) : undefined;
  try {
    made = await prepareVolumes(core, config, image, idBase ?? 0);
    mkdirSync(paths.dir, { recursive: false, mode: 0o700 });
    closeContainerDir(paths.dir, config, idBase);
    writeMeta(paths.dir, row, idBase); // what system repair rebuilds this row from if the database is lost
    if (config.storageSize) await makeQuota(paths.dir, config.storageSize); // before the app: it is bounded too
    await populateApp(image, paths.app);
    mkdirSync(paths.etc, { mode: 0o755 });
    writeFileSync(`${paths.etc}/hostname`, `${config.hostname ?? name}\n`);
    core.store.tx(() => {
      for (const v of config.volumes) if (v.name && !new VolumeTable(core.store).get(v.name)) prepareFailed(v.name); // removed meanwhile
      core.store.insertContainer(row);
      recordEvent(core.store, 'create', row, createAttrs);
    });
  } catch (e) {
    if (idBase !== undefined) core.store.tx(() => releaseIdRange(core.store, id));
    await unmountQuota(paths.dir).catch(() => undefined);
    await rm(paths.dir, { recursive: true, force: true });
    for (const v of made) await new EngineVolumes(core).remove(v, { force: true }).catch(() => undefined); // only what this create made
    if (e instanceof EngineError) throw e;
    throw stateError(e, core.settings.storageDir, 'create the container') ?? new EngineError('RUNTIME_FAILED', `Cannot create container ${name}: ${(e as Error).message}`, { cause: e, context: { container: name } });
  }
  return { id, name };
}

/** Refuse limits this host cannot enforce at the given isolation level, and values past what it allows. */
function checkLimits(isolation: IsolationType, limits: ContainerConfig['limits'] & object, host: HostInfo): void {
  if (host.rootless) checkRootlessLimits(isolation, limits, host.cgroup);
  checkCgroupLimits(isolation, limits, host.cgroup);
  if (limits.memorySwap !== undefined) {
    checkSwap(limits.memory, limits.memorySwap);
    if (!swapAccounted(host.cgroup))
      throw fieldError('HOST_UNSUPPORTED', 'Expected no `limits.memorySwap` here: this kernel does not account swap per cgroup (no memory.memsw.limit_in_bytes or memory.swap.max), so a swap limit would not hold. Leave it out, or boot with swapaccount=1.', ['limits.memorySwap']);
  }
  if (limits.nofile) {
    const hard = currentHardNofile();
    if (hard !== undefined && limits.nofile > hard)
      throw fieldError('INVALID_CONFIG', `Expected \`limits.nofile\` to be at most ${hard} (this host's hard limit, which codex32 cannot raise), got \`${limits.nofile}\``, ['limits.nofile']);
  }
  if (limits.memory !== undefined && limits.memory < 4 * 1024 * 1024)
    throw fieldError('INVALID_CONFIG', `Expected \`limits.memory\` to be at least 4m, got \`${limits.memory}\` bytes`, ['limits.memory']);
  const cpus = availableParallelism();
  if (limits.cpus !== undefined && limits.cpus > cpus)
    throw new EngineError('INVALID_CONFIG', `Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`);
}

/** Whether this process holds CAP_SYS_RESOURCE, which lowering an OOM score below 0 needs. */
export function canLowerOomScore(): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return !!m && (BigInt(`0x${m[1]}`) & (1n << 24n)) !== 0n;
}

/** docker's --oom-score-adj below 0 needs CAP_SYS_RESOURCE: refused at create where this host withholds it. */
function checkOomScore(value: number | undefined): void {
  if (value !== undefined && value < 0 && !canLowerOomScore())
    throw fieldError('HOST_UNSUPPORTED', `Expected \`oomScoreAdj\` from 0 to 1000 here, got \`${value}\`: lowering it needs CAP_SYS_RESOURCE, which codex32 does not hold on this host`, ['oomScoreAdj']);
}

/** docker's --platform: the image must be built for it (an image of another platform is refused, never run). */
function checkPlatform(want: string | undefined, image: ContainerImage, ref: string): void {
  if (!want) return;
  const cfg = image.kind === 'oci' ? image.config : undefined;
  const host = hostPlatform();
  const have = cfg?.os ? { os: cfg.os, architecture: cfg.architecture ?? '', variant: cfg.variant } : host;
  const [os, architecture, variant] = want.split('/');
  if (os !== have.os || architecture !== have.architecture || (variant !== undefined && variant !== have.variant))
    throw new EngineError('PLATFORM_MISMATCH', `image with reference ${ref} was found but does not match the specified platform: wanted ${want}, actual: ${[have.os, have.architecture, have.variant].filter(Boolean).join('/')}`);
}

/**
 * Normalise volumes: absolute, distinct destinations outside the kernel's filesystems; a host path must
 * exist, a volume's name is resolved to its data (made at create when new).
 */
function checkVolumes(core: EngineCore, isolation: IsolationType, volumes: NonNullable<ContainerConfig['volumes']>, appReserved: boolean, cwd = process.cwd()) {
  if (volumes.length && isolation === 'minimal')
    throw new EngineError('INVALID_CONFIG', 'Volumes need a mount namespace: use --isolation standard or strict (minimal sees the host filesystem already).');
  const forbidden = appReserved ? FORBIDDEN_TARGETS : FORBIDDEN_TARGETS.filter((f) => f !== '/app');
  const seen = new Set<string>();
  return volumes.map((v) => {
    const target = normalize(v.target).replace(/\/+$/, '') || '/';
    if (!isAbsolute(v.target) || v.target.split('/').includes('..'))
      throw new EngineError('INVALID_CONFIG', `Expected the volume destination to be an absolute path without .., got \`${v.target}\``);
    if (forbidden.some((f) => target === f || (f !== '/' && f !== '/app' && target.startsWith(f + '/'))))
      throw new EngineError('INVALID_CONFIG', `Expected the volume destination to be outside /proc, /sys and /dev and not /${appReserved ? " or /app (the image's app)" : ''}, got \`${v.target}\``);
    if (seen.has(target)) throw new EngineError('INVALID_CONFIG', `Expected each volume destination once, got \`${v.target}\` twice`);
    seen.add(target);
    if (v.name) return { ...v, target, readOnly: v.readOnly ?? false }; // resolved already (--volumes-from)
    if (isNamedSource(v)) return resolveNamed(core, { ...v, target });
    const source = resolve(cwd, v.source);
    if (!existsSync(source)) throw new EngineError('INVALID_CONFIG', `Expected the volume source to exist on the host, got \`${v.source}\``);
    return { source, target, readOnly: v.readOnly ?? false };
  });
}

/** An anonymous volume at each path the image declares (its VOLUME list) that nothing else is mounted at, as docker. */
function imageVolumes(core: EngineCore, image: ContainerImage, mounted: Array<{ target: string }>, tmpfs: Array<{ path: string }>) {
  const taken = new Set([...mounted.map((v) => v.target), ...tmpfs.map((t) => normalize(t.path).replace(/\/+$/, ''))]);
  const out = [];
  for (const declared of Object.keys(image.config?.config?.Volumes ?? {})) {
    const target = normalize(declared).replace(/\/+$/, '');
    const kernel = FORBIDDEN_TARGETS.some((f) => f !== '/app' && (target === f || (f !== '/' && target.startsWith(f + '/'))));
    if (!isAbsolute(target) || kernel || taken.has(target)) continue; // what codex32 mounts itself, or the user mounted
    taken.add(target);
    out.push(resolveNamed(core, { source: '', target, readOnly: false, type: 'volume' }));
  }
  return out;
}

/**
 * Refuse a volume that would hand the container the host's root, or codex32's storage directory (every
 * container's files, its database and its images): from there a container can rewrite its own spec or
 * another container's app. --allow-host-root (allowHostRoot) is the explicit way to want it anyway.
 */
function refuseHostRoot(volumes: Array<{ source: string }>, storageDir: string): void {
  const storage = realpathSync(storageDir);
  for (const v of volumes) {
    const src = realpathSync(v.source); // a symlink to / is /
    const within = (inner: string, outer: string) => outer === '/' || inner === outer || inner.startsWith(outer + '/');
    let what: string | undefined;
    if (src === '/') what = "the host's root";
    else if (within(storage, src)) what = `a directory holding codex32's storage (${storage})`;
    // the Docker API's socket speaks only its API (what an app builder's server mounts to start siblings)
    else if (within(src, storage) && !statSync(src).isSocket()) what = `a path inside codex32's storage (${storage})`;
    if (what)
      throw new EngineError('INVALID_CONFIG', `Expected a volume source other than ${what}, got \`${v.source}\`: it would give the container every container's files and codex32's database. Pass --allow-host-root (allowHostRoot in a config) to mount it anyway.`, { context: { path: v.source } });
  }
}

let hardNofile: number | undefined | null = null;
/** This process's hard RLIMIT_NOFILE (read once), or undefined when unlimited or unknown. */
function currentHardNofile(): number | undefined {
  if (hardNofile !== null) return hardNofile;
  try {
    const m = /Max open files\s+\S+\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    hardNofile = m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
  } catch {
    hardNofile = undefined;
  }
  return hardNofile;
}
