// create/run flags: declared once, turned into a ContainerConfig.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  parseCpus, parseDurationMs, parseEnvFile, parseEnvPair, parsePositiveInt, parseRestart, parseSeconds, parseSignal, parseSize, parseVolume, parseMount,
} from '../config/parse.js';
import { parseCap, parseNoNewPrivileges, parseTmpfs } from '../config/parse-security.js';
import { parseAddHost, parseBlkioWeight, parseDeviceRate, parseDns, parseExpose, parseNetworkFlags, parseOomScoreAdj, parsePublish, parseRate } from '../config/parse-net.js';
import { MAX, QUOTA_MIN, type ContainerConfig, type IsolationType } from '../config/schema.js';
import { parseSeccompOpt } from '../config/seccomp.js';
import { EngineError, expected } from '../errors.js';
import { dockerFlagOptions, foldDockerFlags, type DockerFlags } from './docker-flags.js';

/** A repeatable option's values, in order. */
export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Parse `-f key=value` flags (the CLI's form) into docker's filter map. */
export function parseFilterFlags(terms: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of terms) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new EngineError('INVALID_CONFIG', `Expected --filter as KEY=VALUE, got \`${t}\``);
    (out[t.slice(0, eq)] ??= []).push(t.slice(eq + 1));
  }
  return out;
}


/** Declare the container flags shared by create and run. */
export function containerOptions(cmd: Command): Command {
  cmd
    .option('--name <name>', 'container name')
    .option('--image <path>', 'image path (Codex-32 form; same as the IMAGE argument)')
    .option('--isolation <level>', 'minimal | standard | strict')
    .option('--memory <size>', 'memory limit, e.g. 64m')
    .option('--cpus <n>', 'CPU limit, e.g. 0.5')
    .option('--cpu-shares <n>', 'relative CPU weight when CPUs are contended (2-262144; default 1024)')
    .option('--pids <n>', 'maximum number of processes')
    .option('--nofile <n>', 'maximum open files')
    .option('--cpu-time <sec>', 'maximum CPU seconds (RLIMIT_CPU)')
    .option('--fsize <size>', 'maximum file size written')
    .option('-v, --volume <src:ctr[:ro]>', 'bind a host path, or mount a named volume (a source without /; made on first use) (repeatable)', collect)
    .option('--mount <spec>', 'type=volume|bind|tmpfs,source=SRC,target=/PATH[,readonly] (repeatable)', collect)
    .option('--volumes-from <container[:ro|rw]>', "mount another container's volumes and binds (repeatable)", collect)
    .option('--allow-host-root', "allow a volume of the host's root or of the storage directory (see docs/security.md)")
    .option('-e, --env <K=V>', 'set an environment variable (repeatable)', collect)
    .option('--env-file <file>', 'read K=V lines from a file (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory')
    .option('-u, --user <name|uid[:group|gid]>', "the user, resolved against the image's /etc/passwd and /etc/group")
    .option('--hostname <name>', 'hostname inside the container')
    .option('--restart <policy>', 'no | on-failure[:N] | always | unless-stopped')
    .option('--stop-signal <sig>', 'signal that stops the container (default TERM)')
    .option('--stop-timeout <sec>', 'seconds between the stop signal and SIGKILL')
    .option('--timeout <sec>', 'maximum runtime')
    .option('--health-cmd <cmd>', 'health check command (run with sh -c)')
    .option('--health-interval <sec>', 'time between health checks')
    .option('--health-timeout <sec>', 'time one check may take')
    .option('--health-retries <n>', 'failures before unhealthy')
    .option('--health-start-period <sec>', 'grace period before failures count')
    .option('--health-restart', 'restart the container when it turns unhealthy')
    .option('--log-max-size <size>', 'rotate the log at this size (default 10m)')
    .option('--log-max-files <n>', 'log files kept (default 3)')
    .option('-l, --label <K=V>', 'metadata label (repeatable)', collect)
    .option('--entrypoint <cmd>', "override the image's entrypoint (\"\" clears it); the image's Cmd is then dropped too")
    .option('--port <auto|N>', 'give the container a loopback port through PORT (auto picks a free one)')
    .option('--network <mode|name>', 'host | none | private | a user network (standard defaults to private, strict to none)')
    .option('--network-alias <name>', 'another name this container answers to on its user network (repeatable)', collect)
    .option('--link <container[:alias]>', 'name a container of a shared user network by another name here (repeatable)', collect)
    .option('-p, --publish <[ip:][hostport:]port[/proto]>', 'publish a container port on the host (repeatable)', collect)
    .option('-P, --publish-all', 'publish every exposed port (the image\'s and --expose\'s) on a free host port')
    .option('--expose <port[/proto]>', 'declare a port the container listens on (repeatable; -P publishes it)', collect)
    .option('--oom-score-adj <n>', "how readily the kernel's OOM killer picks the container's processes (-1000 to 1000)")
    .option('--platform <os/arch>', 'the platform the image must be for, e.g. linux/amd64')
    .option('--dns <ip>', 'DNS server for a private network (repeatable)', collect)
    .option('--add-host <name:ip>', 'add a line to the container\'s /etc/hosts (repeatable)', collect)
    .option('--network-bandwidth <rate>', 'cap each direction of a private network, e.g. 1m (bytes/s) or 8mbit')
    .option('-i, --interactive', 'keep stdin open: attached callers feed it (`echo hi | codex32 run -i host cat`)')
    .option('-t, --tty', 'give the command a terminal (run -it: an interactive shell; Ctrl-P Ctrl-Q detaches)')
    .option('--device-read-bps <dev:rate>', 'limit reads from a block device, e.g. /dev/sda:1m (repeatable)', collect)
    .option('--device-write-bps <dev:rate>', 'limit writes to a block device, e.g. /dev/sda:1m (repeatable)', collect)
    .option('--device-read-iops <dev:n>', 'limit read operations per second on a block device (repeatable)', collect)
    .option('--device-write-iops <dev:n>', 'limit write operations per second on a block device (repeatable)', collect)
    .option('--blkio-weight <n>', 'relative block I/O weight, 10 to 1000')
    .option('--cap-add <cap>', 'give back a capability of the level\'s set, e.g. NET_BIND_SERVICE (repeatable)', collect)
    .option('--cap-drop <cap>', 'drop a capability, or ALL (repeatable)', collect)
    .option('--read-only', 'mount the container\'s root read-only (/tmp, /app and volumes stay writable)')
    .option('--tmpfs <path[:opts]>', 'mount a tmpfs, e.g. /run:size=16m,mode=755 (repeatable)', collect)
    .option('--shm-size <size>', 'size of /dev/shm (default 64m)')
    .option('--storage-opt <opt>', 'size=SIZE: a disk quota on the writable layer and /app together, e.g. size=1g (standard and strict)', collect)
    .option('--security-opt <opt>', 'seccomp=unconfined | seccomp=PROFILE.json (docker\'s format) (repeatable)', collect)
    .option('--pull <policy>', 'missing (default: pull an image reference that is not stored) | always | never');
  return dockerFlagOptions(cmd);
}

export interface ContainerFlags extends DockerFlags {
  pull?: string;
  name?: string;
  image?: string;
  isolation?: string;
  memory?: string;
  cpus?: string;
  cpuShares?: string;
  pids?: string;
  nofile?: string;
  cpuTime?: string;
  fsize?: string;
  volume?: string[];
  mount?: string[];
  volumesFrom?: string[];
  allowHostRoot?: boolean;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  restart?: string;
  stopSignal?: string;
  stopTimeout?: string;
  timeout?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthRestart?: boolean;
  logMaxSize?: string;
  logMaxFiles?: string;
  label?: string[];
  port?: string;
  network?: string;
  networkAlias?: string[];
  publishAll?: boolean;
  expose?: string[];
  oomScoreAdj?: string;
  platform?: string;
  link?: string[];
  publish?: string[];
  dns?: string[];
  addHost?: string[];
  networkBandwidth?: string;
  entrypoint?: string;
  securityOpt?: string[];
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
  blkioWeight?: string;
  capAdd?: string[];
  capDrop?: string[];
  readOnly?: boolean;
  tmpfs?: string[];
  shmSize?: string;
  storageOpt?: string[];
  interactive?: boolean;
  tty?: boolean;
}

/** The network part of a config: mode, published ports, DNS, extra hosts, bandwidth. */
function networkConfig(flags: ContainerFlags): Partial<ContainerConfig> {
  const publish = [...(flags.publish ?? [])];
  // `-p auto` was the short form of --port auto before -p meant publish
  const autoAt = publish.indexOf('auto');
  if (autoAt >= 0 && flags.port === undefined) {
    publish.splice(autoAt, 1);
    flags.port = 'auto';
  }
  return {
    ...parseNetworkFlags(flags.network, flags.networkAlias ?? [], flags.link ?? []),
    publish: publish.length ? publish.map(parsePublish) : undefined,
    dns: flags.dns?.map(parseDns),
    addHosts: flags.addHost?.map(parseAddHost),
    networkBandwidth: flags.networkBandwidth !== undefined ? parseRate('`--network-bandwidth`', flags.networkBandwidth) : undefined,
    blkio: blkioConfig(flags),
    capAdd: flags.capAdd?.map((c) => parseCap('`--cap-add`', c)),
    capDrop: flags.capDrop?.map((c) => parseCap('`--cap-drop`', c)),
    readOnly: flags.readOnly,
    tmpfs: flags.tmpfs?.map(parseTmpfs),
    shmSize: flags.shmSize !== undefined ? parseSize('`--shm-size`', flags.shmSize) : undefined,
    storageSize: storageSize(flags.storageOpt),
  };
}

/** docker's --storage-opt: only size=SIZE, a disk quota; another option is refused by name. */
function storageSize(opts: string[] | undefined): number | undefined {
  let size: number | undefined;
  for (const o of opts ?? []) {
    const [key, value] = [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)];
    if (key !== 'size' || !o.includes('=')) throw expected('`--storage-opt`', 'size=SIZE (the only storage option), e.g. size=1g', o);
    size = parseSize('`--storage-opt size`', value);
    if (size < QUOTA_MIN) throw expected('`--storage-opt size`', 'at least 16m (the file system keeps its own records in it)', value);
  }
  return size;
}

/** The block I/O limits, or undefined when none is asked for. */
function blkioConfig(flags: ContainerFlags): ContainerConfig['blkio'] {
  const rates = (list: string[] | undefined, flag: string, kind: 'bps' | 'iops') => (list ?? []).map((v) => parseDeviceRate(flag, v, kind));
  const b = {
    weight: flags.blkioWeight !== undefined ? parseBlkioWeight(flags.blkioWeight) : undefined,
    readBps: rates(flags.deviceReadBps, '`--device-read-bps`', 'bps'),
    writeBps: rates(flags.deviceWriteBps, '`--device-write-bps`', 'bps'),
    readIops: rates(flags.deviceReadIops, '`--device-read-iops`', 'iops'),
    writeIops: rates(flags.deviceWriteIops, '`--device-write-iops`', 'iops'),
  };
  if (b.weight === undefined) delete b.weight;
  const any = b.weight !== undefined || b.readBps.length + b.writeBps.length + b.readIops.length + b.writeIops.length > 0;
  return any ? b : undefined;
}

/** Turn parsed flags plus IMAGE and CMD into a config (validation of values happens here). */
export function toConfig(flags: ContainerFlags, image: string | undefined, command: string[]): ContainerConfig {
  flags = { ...flags };
  const memorySwap = foldDockerFlags(flags);
  // `--image PATH` takes the image's place; then the first positional is part of the command
  if (flags.image) {
    if (image !== undefined) command = [image, ...command];
    image = flags.image;
  }
  if (!image) throw new EngineError('INVALID_CONFIG', 'Expected an IMAGE (a path such as ./bots/heartbeat.py, or `host`), got nothing');
  if (flags.isolation && !['minimal', 'standard', 'strict'].includes(flags.isolation))
    throw expected('`--isolation`', 'one of minimal, standard, strict', flags.isolation);
  const env: Record<string, string> = {};
  for (const f of flags.envFile ?? []) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      throw expected('`--env-file`', 'a readable file', f);
    }
    for (const [k, v] of parseEnvFile(text)) env[k] = v;
  }
  for (const e of flags.env ?? []) {
    const [k, v] = parseEnvPair(e);
    env[k] = v;
  }
  const labels: Record<string, string> = {};
  for (const l of flags.label ?? []) {
    const i = l.indexOf('=');
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  const net = networkConfig(flags);
  const mounts = (flags.mount ?? []).map(parseMount);
  const tmpfsMounts = mounts.flatMap((m) => ('tmpfs' in m ? [m.tmpfs] : []));
  if (tmpfsMounts.length) net.tmpfs = [...(net.tmpfs ?? []), ...tmpfsMounts];
  const cfg: ContainerConfig = {
    image,
    command,
    env,
    labels,
    name: flags.name,
    tty: flags.tty,
    interactive: flags.interactive,
    isolation: flags.isolation as IsolationType | undefined,
    workdir: flags.workdir,
    hostname: flags.hostname,
    userName: flags.user,
    publishAll: flags.publishAll || undefined,
    exposedPorts: flags.expose?.map(parseExpose),
    oomScoreAdj: flags.oomScoreAdj !== undefined ? parseOomScoreAdj(flags.oomScoreAdj) : undefined,
    platform: flags.platform,
    limits: {
      memory: flags.memory !== undefined ? parseSize('`--memory`', flags.memory) : undefined,
      memorySwap,
      cpus: flags.cpus !== undefined ? parseCpus('`--cpus`', flags.cpus) : undefined,
      cpuShares: flags.cpuShares !== undefined ? parsePositiveInt('`--cpu-shares`', flags.cpuShares, 262_144, 2) : undefined,
      pids: flags.pids !== undefined ? parsePositiveInt('`--pids`', flags.pids, MAX.pids) : undefined,
      nofile: flags.nofile !== undefined ? parsePositiveInt('`--nofile`', flags.nofile, MAX.nofile) : undefined,
      cpuTime: flags.cpuTime !== undefined ? parsePositiveInt('`--cpu-time`', flags.cpuTime, MAX.cpuTime) : undefined,
      fsize: flags.fsize !== undefined ? parseSize('`--fsize`', flags.fsize) : undefined,
    },
    volumes: [...(flags.volume ?? []).map(parseVolume), ...mounts.flatMap((m) => ('volume' in m ? [m.volume] : []))],
    volumesFrom: flags.volumesFrom,
    allowHostRoot: flags.allowHostRoot,
    restart: flags.restart ? parseRestart(flags.restart) : undefined,
    stopSignal: flags.stopSignal ? parseSignal(flags.stopSignal) : undefined,
    stopTimeout: flags.stopTimeout !== undefined ? parseSeconds('`--stop-timeout`', flags.stopTimeout) : undefined,
    timeout: flags.timeout !== undefined ? parseSeconds('`--timeout`', flags.timeout, 1) : undefined,
    logMaxSize: flags.logMaxSize ? parseSize('`--log-max-size`', flags.logMaxSize) : undefined,
    logMaxFiles: flags.logMaxFiles ? parsePositiveInt('`--log-max-files`', flags.logMaxFiles, MAX.logMaxFiles) : undefined,
    entrypoint: flags.entrypoint === undefined ? undefined : flags.entrypoint === '' ? [] : [flags.entrypoint],
    port: flags.port === undefined ? undefined : flags.port === 'auto' ? 'auto' : parsePositiveInt('`--port`', flags.port, MAX.port),
    ...net,
  };
  for (const o of flags.securityOpt ?? []) {
    const nnp = parseNoNewPrivileges(o);
    if (nnp !== undefined) cfg.noNewPrivileges = nnp;
    else if (/^seccomp[=:]/.test(o)) cfg.seccomp = parseSeccompOpt(o, (p) => readFileSync(p, 'utf8'));
    else throw expected('`--security-opt`', 'seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges[=true|false]', o);
  }
  if (flags.workdir && !flags.workdir.startsWith('/')) throw expected('`-w`', 'an absolute path', flags.workdir);
  if (flags.healthCmd) {
    cfg.health = {
      cmd: ['sh', '-c', flags.healthCmd],
      intervalMs: flags.healthInterval ? parseDurationMs('`--health-interval`', flags.healthInterval, 1) : undefined,
      timeoutMs: flags.healthTimeout ? parseDurationMs('`--health-timeout`', flags.healthTimeout, 1) : undefined,
      retries: flags.healthRetries ? parsePositiveInt('`--health-retries`', flags.healthRetries, MAX.retries) : undefined,
      startPeriodMs: flags.healthStartPeriod ? parseDurationMs('`--health-start-period`', flags.healthStartPeriod) : undefined,
      restartOnUnhealthy: flags.healthRestart,
    };
  }
  for (const k of Object.keys(cfg) as Array<keyof ContainerConfig>) if (cfg[k] === undefined) delete cfg[k];
  for (const k of Object.keys(cfg.limits!) as Array<keyof typeof cfg.limits & string>)
    if ((cfg.limits as Record<string, unknown>)[k] === undefined) delete (cfg.limits as Record<string, unknown>)[k];
  if (cfg.health) for (const k of Object.keys(cfg.health)) if ((cfg.health as Record<string, unknown>)[k] === undefined) delete (cfg.health as Record<string, unknown>)[k];
  return cfg;
}
