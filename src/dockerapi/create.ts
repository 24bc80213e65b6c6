// POST /containers/create: docker's Config and HostConfig onto codex32's ContainerConfig. A field codex32
// cannot honour is refused with a 400 that names it, never dropped: that would weaken a limit or isolation.
import { parseCap, parseNoNewPrivileges, parseTmpfs } from '../config/parse-security.js';
import { parseSignal, parseVolume } from '../config/parse.js';
import { QUOTA_MIN, type ContainerConfig, type IsolationType, type PortMapping } from '../config/schema.js';
import { parseSeccompProfile } from '../config/seccomp.js';
import { ApiError } from './errors.js';

/** The label that asks for an isolation level other than the engine's default. */
export const ISOLATION_LABEL = 'codex32.isolation';

type Json = Record<string, any>;

const strs = (v: unknown, field: string): string[] | undefined => {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw new ApiError(400, `${field} must be a string or an array of strings`);
};
const refuse = (field: string, why: string) => new ApiError(400, `${field} is not supported by codex32: ${why}`);
const ns2ms = (ns: unknown) => (typeof ns === 'number' && ns > 0 ? Math.round(ns / 1e6) : undefined);

/** HostConfig fields codex32 has no equivalent for: refused when set to anything but their default. */
const UNSUPPORTED: Array<[string, (v: any) => boolean, string]> = [
  ['Privileged', (v) => v === true, 'a privileged container would run with every capability and every device; add the capabilities it needs with CapAdd'],
  ['Devices', (v) => Array.isArray(v) && v.length > 0, 'host devices are not passed into containers'],
  ['DeviceRequests', (v) => Array.isArray(v) && v.length > 0, 'host devices are not passed into containers'],
  ['DeviceCgroupRules', (v) => Array.isArray(v) && v.length > 0, 'host devices are not passed into containers'],
  ['PidMode', (v) => !!v, "sharing another pid namespace is not supported"],
  ['IpcMode', (v) => !!v && v !== 'private' && v !== 'shareable', "sharing another IPC namespace is not supported"],
  ['UTSMode', (v) => !!v, "sharing the host's UTS namespace is not supported"],
  ['UsernsMode', (v) => !!v, 'the user namespace follows the isolation level (label codex32.isolation=strict)'],
  ['CgroupnsMode', (v) => !!v && v !== 'private', 'the cgroup namespace follows the isolation level'],
  ['Sysctls', (v) => v && Object.keys(v).length > 0, 'sysctls are not set per container'],
  ['CpusetCpus', (v) => !!v, 'CPU pinning is not supported; limit with NanoCpus'],
  ['CpusetMems', (v) => !!v, 'memory node pinning is not supported'],
  ['OomKillDisable', (v) => v === true, 'the memory limit is always enforced'],
  ['KernelMemory', (v) => typeof v === 'number' && v > 0, 'kernel memory is counted in Memory'],
  ['MemoryReservation', (v) => typeof v === 'number' && v > 0, 'only a hard Memory limit is supported'],
  ['CgroupParent', (v) => !!v, 'containers live under codex32/ in each hierarchy'],
  ['Runtime', (v) => !!v && v !== 'codex32' && v !== 'runc', 'codex32 runs its own supervisor'],
  ['GroupAdd', (v) => Array.isArray(v) && v.length > 0, 'supplementary groups are not supported'],
  ['VolumeDriver', (v) => !!v && v !== 'local', 'the only volume driver is local'],
];

function limitsOf(h: Json): NonNullable<ContainerConfig['limits']> {
  const limits: NonNullable<ContainerConfig['limits']> = {};
  if (h.Memory) limits.memory = h.Memory;
  // memory plus swap: equal to Memory (or 0) is codex32's default, no swap; -1 unlimited swap; the engine
  // refuses it without Memory, below Memory, or where the kernel does not account swap
  if (h.MemorySwap && h.MemorySwap !== h.Memory) limits.memorySwap = h.MemorySwap;
  if (h.NanoCpus) limits.cpus = h.NanoCpus / 1e9;
  else if (h.CpuQuota && h.CpuQuota > 0) limits.cpus = Math.round((h.CpuQuota / (h.CpuPeriod || 100_000)) * 1000) / 1000;
  if (h.CpuShares) limits.cpuShares = h.CpuShares;
  if (h.PidsLimit && h.PidsLimit > 0) limits.pids = h.PidsLimit;
  for (const u of (h.Ulimits ?? []) as Array<{ Name: string; Soft: number; Hard: number }>) {
    // one value per limit: the soft one, so neither is looser than asked
    const v = Math.min(u.Soft, u.Hard);
    if (u.Name === 'nofile') limits.nofile = v;
    else if (u.Name === 'cpu') limits.cpuTime = v;
    else if (u.Name === 'fsize') limits.fsize = v;
    else if (u.Name === 'nproc') limits.pids = Math.min(limits.pids ?? v, v);
    else throw refuse(`HostConfig.Ulimits ${u.Name}`, 'the supported ulimits are nofile, nproc, cpu and fsize');
  }
  return limits;
}

function securityOf(h: Json, cfg: ContainerConfig): void {
  const add = strs(h.CapAdd, 'HostConfig.CapAdd') ?? [];
  cfg.capAdd = add.map((c) => parseCap('HostConfig.CapAdd', c));
  if (cfg.capAdd.includes('ALL')) throw refuse('HostConfig.CapAdd ALL', 'every capability would make the container root on the host; name the capabilities it needs');
  cfg.capDrop = (strs(h.CapDrop, 'HostConfig.CapDrop') ?? []).map((c) => parseCap('HostConfig.CapDrop', c));
  for (const o of (h.SecurityOpt ?? []) as string[]) {
    const nnp = parseNoNewPrivileges(o);
    if (nnp !== undefined) cfg.noNewPrivileges = nnp;
    else if (/^seccomp[=:]unconfined$/.test(o)) cfg.seccomp = 'unconfined';
    // the docker CLI reads a profile file itself and sends its JSON
    else if (/^seccomp[=:]\s*\{/.test(o)) cfg.seccomp = parseSeccompProfile(o.replace(/^seccomp[=:]/, ''), 'HostConfig.SecurityOpt');
    else throw refuse(`HostConfig.SecurityOpt ${o}`, 'the supported options are seccomp=unconfined, seccomp=<profile JSON> and no-new-privileges');
  }
  if (h.ReadonlyRootfs) cfg.readOnly = true;
}

interface ApiMount {
  Type: string;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
  VolumeOptions?: { NoCopy?: boolean; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null } | null;
}

/** Binds (a source without a slash is a volume), Mounts of type bind, volume and tmpfs, Config.Volumes (anonymous volumes), VolumesFrom. */
function storageOf(body: Json, h: Json, cfg: ContainerConfig): void {
  cfg.volumes = ((h.Binds ?? []) as string[]).map((b) => parseVolume(b.replace(/:(rw|ro),?.*$/, ':$1').replace(/:(z|Z|nocopy)$/, '')));
  cfg.tmpfs = Object.entries((h.Tmpfs ?? {}) as Record<string, string>).map(([p, o]) => parseTmpfs(o ? `${p}:${o}` : p));
  for (const m of (h.Mounts ?? []) as ApiMount[]) {
    if (m.Type === 'bind') cfg.volumes.push({ source: m.Source ?? '', target: m.Target, readOnly: !!m.ReadOnly, type: 'bind' });
    else if (m.Type === 'tmpfs') cfg.tmpfs.push({ path: m.Target, size: m.TmpfsOptions?.SizeBytes, mode: m.TmpfsOptions?.Mode });
    else if (m.Type === 'volume') {
      const d = m.VolumeOptions?.DriverConfig;
      if (d?.Name && d.Name !== 'local') throw refuse(`HostConfig.Mounts volume driver ${d.Name}`, 'the only volume driver is local');
      if (d?.Options && Object.keys(d.Options).length) throw refuse('HostConfig.Mounts VolumeOptions.DriverConfig.Options', 'create the volume with its options first (POST /volumes/create)');
      cfg.volumes.push({ source: m.Source ?? '', target: m.Target, readOnly: !!m.ReadOnly, type: 'volume', ...(m.VolumeOptions?.NoCopy ? { noCopy: true } : {}) });
    } else throw refuse(`HostConfig.Mounts type ${m.Type}`, 'the mount types are bind, volume and tmpfs');
  }
  // `docker run -v /data` sends the path in Config.Volumes: an anonymous volume unless something else is mounted there
  for (const target of Object.keys((body.Volumes ?? {}) as Record<string, unknown>))
    if (!cfg.volumes.some((v) => v.target.replace(/\/+$/, '') === target.replace(/\/+$/, '')) && !cfg.tmpfs.some((t) => t.path === target))
      cfg.volumes.push({ source: '', target, readOnly: false, type: 'volume' });
  const from = strs(h.VolumesFrom, 'HostConfig.VolumesFrom');
  if (from?.length) cfg.volumesFrom = from;
  if (h.ShmSize) cfg.shmSize = h.ShmSize;
  const quota = storageOptSize(h.StorageOpt);
  if (quota !== undefined) cfg.storageSize = quota;
}

/** HostConfig.StorageOpt: only {size: "10G"}, a disk quota; another option is refused by name. */
function storageOptSize(opt: unknown): number | undefined {
  if (opt == null) return undefined;
  if (typeof opt !== 'object' || Array.isArray(opt)) throw new ApiError(400, 'HostConfig.StorageOpt must be an object such as {"size": "1G"}');
  let size: number | undefined;
  for (const [k, v] of Object.entries(opt as Record<string, unknown>)) {
    if (k !== 'size') throw refuse(`HostConfig.StorageOpt ${k}`, 'the only storage option is size, a disk quota');
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(String(v).trim());
    if (!m) throw new ApiError(400, `HostConfig.StorageOpt size must be a size such as 10G, got ${String(v)}`);
    size = Math.floor(Number(m[1]) * 1024 ** ' kmgt'.indexOf(m[2].toLowerCase() || ' '));
    if (size < QUOTA_MIN) throw new ApiError(400, `HostConfig.StorageOpt size must be at least 16M (the file system keeps its own records in it), got ${String(v)}`);
  }
  return size;
}

/** One endpoint of NetworkingConfig: its aliases; a static address or MAC is refused by name. */
function endpointAliases(net: string, ep: Json | undefined): string[] {
  if (!ep) return [];
  const ipam = ep.IPAMConfig ?? {};
  if (ipam.IPv4Address || ipam.IPv6Address) throw refuse(`NetworkingConfig.EndpointsConfig.${net}.IPAMConfig`, 'addresses are leased, not chosen');
  if (ep.MacAddress) throw refuse(`NetworkingConfig.EndpointsConfig.${net}.MacAddress`, 'interfaces are routed, not bridged');
  if (Array.isArray(ep.Links) && ep.Links.length) throw refuse(`NetworkingConfig.EndpointsConfig.${net}.Links`, 'give links as HostConfig.Links');
  return strs(ep.Aliases, `NetworkingConfig.EndpointsConfig.${net}.Aliases`) ?? [];
}

/** HostConfig.Links ("name:alias", or docker's normalised "/name:/this/alias") as config links. */
function linksOf(links: unknown): ContainerConfig['links'] {
  return (strs(links, 'HostConfig.Links') ?? []).map((l) => {
    const [name, alias = name] = l.split(':');
    return { name: name!.replace(/^\//, ''), alias: alias!.split('/').pop()! };
  });
}

function networkOf(body: Json, h: Json, cfg: ContainerConfig): void {
  const mode = h.NetworkMode || 'default';
  const endpoints: Json = body.NetworkingConfig?.EndpointsConfig ?? {};
  if (mode === 'host' || mode === 'none') cfg.network = mode;
  else if (mode === 'default' || mode === 'bridge' || mode === 'private') cfg.network = 'private';
  else if (mode.includes(':')) throw refuse(`HostConfig.NetworkMode ${mode}`, "sharing another container's network namespace is not supported; put both on one user network");
  else cfg.networks = [{ name: mode, aliases: endpointAliases(mode, endpoints[mode]) }];
  for (const [net, ep] of Object.entries(endpoints)) {
    if (net === mode || (net === 'bridge' && cfg.network === 'private')) continue;
    if (['host', 'none', 'bridge', 'default'].includes(net)) throw refuse(`NetworkingConfig.EndpointsConfig.${net}`, `the container's network is ${mode}`);
    (cfg.networks ??= []).push({ name: net, aliases: endpointAliases(net, ep as Json) });
  }
  const links = linksOf(h.Links);
  if (links?.length) cfg.links = links;
  const publish: PortMapping[] = [];
  for (const [key, binds] of Object.entries((h.PortBindings ?? {}) as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>)) {
    const [port, proto = 'tcp'] = key.split('/');
    for (const b of binds ?? [{}]) {
      // "" and "0" both mean: pick a free port
      publish.push({ containerPort: Number(port), protocol: proto as 'tcp' | 'udp', hostPort: Number(b.HostPort || 0), hostIp: b.HostIp || '0.0.0.0' });
    }
  }
  if (publish.length) cfg.publish = publish;
  if (h.Dns?.length) cfg.dns = h.Dns;
  if (h.ExtraHosts?.length) cfg.addHosts = (h.ExtraHosts as string[]).map((e) => ({ host: e.slice(0, e.indexOf(':')), ip: e.slice(e.indexOf(':') + 1) }));
}

function runtimeOf(body: Json, h: Json, cfg: ContainerConfig): void {
  const rp = h.RestartPolicy;
  if (rp?.Name) cfg.restart = { name: rp.Name, maxRetries: rp.MaximumRetryCount ?? 0 };
  // the engine's own auto-remove (as the CLI's --rm): removed once ended, whether or not this service runs
  if (h.AutoRemove) {
    if (rp?.Name && rp.Name !== 'no') throw new ApiError(400, 'conflicting options: cannot specify both --restart and --rm');
    cfg.autoRemove = true;
  }
  const lc = h.LogConfig;
  if (lc?.Type && lc.Type !== 'json-file' && lc.Type !== 'local') throw refuse(`HostConfig.LogConfig type ${lc.Type}`, 'logs are kept in files (json-file)');
  if (lc?.Config?.['max-size']) cfg.logMaxSize = sizeOf(lc.Config['max-size']);
  if (lc?.Config?.['max-file']) cfg.logMaxFiles = Number(lc.Config['max-file']);
  if (body.StopSignal) cfg.stopSignal = parseSignal(body.StopSignal);
  if (typeof body.StopTimeout === 'number') cfg.stopTimeout = body.StopTimeout;
  const hc = body.Healthcheck;
  if (hc?.Test?.length && hc.Test[0] !== 'NONE') {
    const [kind, ...rest] = hc.Test as string[];
    cfg.health = {
      cmd: kind === 'CMD-SHELL' ? ['sh', '-c', rest.join(' ')] : kind === 'CMD' ? rest : (hc.Test as string[]),
      intervalMs: ns2ms(hc.Interval),
      timeoutMs: ns2ms(hc.Timeout),
      retries: hc.Retries || undefined,
      startPeriodMs: ns2ms(hc.StartPeriod),
    } as NonNullable<ContainerConfig['health']>;
  }
}

function sizeOf(v: string): number {
  const m = /^(\d+)([kmg]?)b?$/i.exec(String(v).trim());
  if (!m) throw new ApiError(400, `HostConfig.LogConfig max-size must be a size such as 10m, got ${v}`);
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
}

/** docker's create body (and ?name=) as a ContainerConfig for the engine, which validates the rest. */
export function toContainerConfig(body: Json, name: string | null): ContainerConfig {
  if (!body.Image || typeof body.Image !== 'string') throw new ApiError(400, 'Config.Image must name an image');
  const h: Json = body.HostConfig ?? {};
  for (const [field, set, why] of UNSUPPORTED) if (set(h[field])) throw refuse(`HostConfig.${field}`, why);
  const labels: Record<string, string> = { ...(body.Labels ?? {}) };
  const isolation = labels[ISOLATION_LABEL];
  if (isolation !== undefined && !['minimal', 'standard', 'strict'].includes(isolation))
    throw new ApiError(400, `Label ${ISOLATION_LABEL} must be minimal, standard or strict, got ${isolation}`);
  const env: Record<string, string> = {};
  for (const e of (body.Env ?? []) as string[]) if (e.includes('=')) env[e.slice(0, e.indexOf('='))] = e.slice(e.indexOf('=') + 1);
  const entrypoint = strs(body.Entrypoint, 'Entrypoint');
  const cfg: ContainerConfig = {
    image: body.Image,
    command: strs(body.Cmd, 'Cmd') ?? [],
    env,
    labels,
    tty: !!body.Tty,
    interactive: !!body.OpenStdin,
    limits: limitsOf(h),
  } as ContainerConfig;
  if (name) cfg.name = name.replace(/^\//, '');
  if (entrypoint) cfg.entrypoint = entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint;
  if (isolation) cfg.isolation = isolation as IsolationType;
  if (body.WorkingDir) cfg.workdir = body.WorkingDir;
  if (body.User) cfg.userName = String(body.User);
  if (body.Hostname) cfg.hostname = body.Hostname;
  if (body.ExposedPorts) cfg.exposedPorts = Object.keys(body.ExposedPorts);
  if (h.PublishAllPorts) cfg.publishAll = true;
  if (typeof h.OomScoreAdj === 'number' && h.OomScoreAdj !== 0) cfg.oomScoreAdj = h.OomScoreAdj;
  securityOf(h, cfg);
  storageOf(body, h, cfg);
  networkOf(body, h, cfg);
  runtimeOf(body, h, cfg);
  return cfg;
}
