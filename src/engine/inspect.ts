// docker-shaped inspect output from a container row and its run history.
import { ID_RANGE_SIZE } from '../state/idranges.js';
import type { ContainerPaths } from '../runtime/layout.js';
import { networkMode } from '../runtime/network.js';
import type { ContainerRow, RunRecord } from '../state/types.js';
import { dirname } from 'node:path';
import { dockerMount } from '../volumes/driver.js';
import { isPaused, shownStatus } from './status.js';
import { networkInfo, portMap, type NetworkInfo, type PortMap } from './netinfo.js';

export interface InspectResult {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    Dead: boolean;
    Pid: number;
    ExitCode: number;
    Signal: number;
    OOMKilled: boolean;
    Error: string;
    Reason: string;
    StartedAt: string;
    FinishedAt: string;
    Health?: { Status: string; FailingStreak: number; Log: unknown[] };
  };
  RestartCount: number;
  Image: string;
  Config: {
    Hostname: string;
    Env: string[];
    Cmd: string[];
    Entrypoint: string[] | null;
    ExposedPorts?: Record<string, object>;
    WorkingDir: string;
    User: string;
    Labels: Record<string, string>;
    StopSignal: number;
    StopTimeout: number;
    Tty: boolean;
    OpenStdin: boolean;
  };
  HostConfig: {
    Isolation: string;
    Memory: number;
    /** memory plus swap: Memory when the container has no swap (codex32's default), -1 unlimited */
    MemorySwap: number;
    NanoCpus: number;
    CpuShares: number;
    PidsLimit: number;
    Nofile: number;
    /** docker's form of the rlimits: one value for soft and hard */
    Ulimits: Array<{ Name: string; Soft: number; Hard: number }>;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    AutoRemove: boolean;
    Timeout: number;
    LogConfig: { MaxSize: number; MaxFiles: number };
    NetworkMode: string;
    PortBindings: PortMap;
    Dns: string[];
    ExtraHosts: string[];
    NetworkBandwidth: number;
    BlkioWeight: number;
    CapAdd: string[];
    CapDrop: string[];
    ReadonlyRootfs: boolean;
    Tmpfs: Record<string, string>;
    ShmSize: number;
    StorageOpt: Record<string, string> | null;
    /** a strict container's host uid and gid range, as podman shows it ("inside:host:count") */
    IDMappings?: { UidMap: string[]; GidMap: string[] };
    BlkioDeviceReadBps: Array<{ Path: string; Rate: number }>;
    BlkioDeviceWriteBps: Array<{ Path: string; Rate: number }>;
    BlkioDeviceReadIOps: Array<{ Path: string; Rate: number }>;
    BlkioDeviceWriteIOps: Array<{ Path: string; Rate: number }>;
    SecurityOpt: string[];
  };
  Mounts: Array<Record<string, unknown>>;
  LogPath: string;
  NetworkSettings: NetworkInfo;
  Runs: RunRecord[];
}

const dev = (list?: Array<{ path: string; rate: number }>) => (list ?? []).map((d) => ({ Path: d.path, Rate: d.rate }));
const iso = (ms?: number) => (ms ? new Date(ms).toISOString() : '0001-01-01T00:00:00Z');

/** Build the inspect document. */
export function toInspect(row: ContainerRow, paths: ContainerPaths, argv: string[], runs: RunRecord[], healthLog: unknown[] = [], idBase?: number): InspectResult {
  const c = row.config;
  const s = row.state;
  const running = row.status === 'running' || row.status === 'stopping';
  return {
    Id: row.id,
    Name: row.name,
    Created: iso(row.createdAt),
    Path: argv[0] ?? '',
    Args: argv.slice(1),
    State: {
      Status: shownStatus(row),
      Running: running,
      Paused: isPaused(row),
      Restarting: row.status === 'restarting',
      Dead: row.status === 'dead',
      Pid: running ? (s.init?.pid ?? 0) : 0,
      ExitCode: s.exitCode ?? 0,
      Signal: s.signal ?? 0,
      OOMKilled: s.oomKilled ?? false,
      Error: s.error ?? '',
      Reason: s.reason ?? '',
      StartedAt: iso(s.startedAt),
      FinishedAt: iso(s.finishedAt),
      ...(c.health ? { Health: { Status: s.health?.status ?? 'starting', FailingStreak: s.health?.failingStreak ?? 0, Log: healthLog } } : {}),
    },
    RestartCount: s.restartCount,
    Image: c.image,
    Config: {
      Hostname: c.hostname ?? c.name,
      Env: Object.entries(c.env).map(([k, v]) => `${k}=${v}`),
      Cmd: c.command,
      Entrypoint: c.entrypoint ?? null,
      ...(c.exposedPorts?.length ? { ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])) } : {}),
      WorkingDir: c.workdir ?? '',
      User: c.user ? `${c.user.uid}:${c.user.gid}` : '',
      Labels: c.labels,
      StopSignal: c.stopSignal,
      StopTimeout: c.stopTimeout,
      Tty: c.tty,
      OpenStdin: c.interactive,
    },
    HostConfig: {
      Isolation: c.isolation,
      Memory: c.limits.memory ?? 0,
      MemorySwap: c.limits.memorySwap ?? c.limits.memory ?? 0,
      NanoCpus: Math.round((c.limits.cpus ?? 0) * 1e9),
      CpuShares: c.limits.cpuShares ?? 0,
      PidsLimit: c.limits.pids ?? 0,
      Nofile: c.limits.nofile ?? 0,
      Ulimits: ([['nofile', c.limits.nofile], ['cpu', c.limits.cpuTime], ['fsize', c.limits.fsize]] as const).flatMap(([Name, v]) => (v ? [{ Name, Soft: v, Hard: v }] : [])),
      RestartPolicy: { Name: c.restart.name, MaximumRetryCount: c.restart.maxRetries },
      AutoRemove: !!c.autoRemove,
      Timeout: c.timeout ?? 0,
      LogConfig: { MaxSize: c.logMaxSize, MaxFiles: c.logMaxFiles },
      NetworkMode: c.networks[0]?.name ?? networkMode(c),
      PortBindings: portMap(c.publish ?? []),
      Dns: c.dns ?? [],
      ExtraHosts: (c.addHosts ?? []).map((h) => `${h.host}:${h.ip}`),
      NetworkBandwidth: c.networkBandwidth ?? 0,
      BlkioWeight: c.blkio?.weight ?? 0,
      CapAdd: c.capAdd ?? [],
      CapDrop: c.capDrop ?? [],
      ReadonlyRootfs: c.isolation === 'strict' || !!c.readOnly,
      Tmpfs: Object.fromEntries((c.tmpfs ?? []).map((t) => [t.path, [t.size && `size=${t.size}`, t.mode !== undefined && `mode=${t.mode.toString(8)}`].filter(Boolean).join(',')])),
      ShmSize: c.isolation === 'minimal' ? 0 : (c.shmSize ?? 64 * 1024 * 1024),
      StorageOpt: c.storageSize ? { size: String(c.storageSize) } : null,
      ...(idBase !== undefined ? { IDMappings: { UidMap: [`0:${idBase}:${ID_RANGE_SIZE}`], GidMap: [`0:${idBase}:${ID_RANGE_SIZE}`] } } : {}),
      BlkioDeviceReadBps: dev(c.blkio?.readBps),
      BlkioDeviceWriteBps: dev(c.blkio?.writeBps),
      BlkioDeviceReadIOps: dev(c.blkio?.readIops),
      BlkioDeviceWriteIOps: dev(c.blkio?.writeIops),
      // as docker: nothing for the default filter, the profile itself for a custom one
      SecurityOpt: [
        ...(c.seccomp === undefined || c.seccomp === 'default' ? [] : [`seccomp=${typeof c.seccomp === 'string' ? c.seccomp : JSON.stringify(c.seccomp)}`]),
        ...(c.isolation !== 'minimal' || c.noNewPrivileges ? ['no-new-privileges'] : []),
      ],
    },
    Mounts: c.volumes.map((v) => dockerMount(v, dirname(dirname(paths.dir)))),
    LogPath: paths.log,
    NetworkSettings: networkInfo(row),
    Runs: runs,
  };
}
