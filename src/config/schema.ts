// zod schemas: the single source of truth for container configuration; types come from z.infer.
import { z } from 'zod';
import { seccompSchemas } from './seccomp.js';

/** The isolation levels, weakest first. */
export const ISOLATION_TYPES = ['minimal', 'standard', 'strict'] as const;

export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/**
 * The documented maximum of every size, count and duration (CUSTOM_CONTAINER_ENGINE.md lists them).
 * All are at most 2^53 so that a value within its maximum is exact as a JS number.
 */
export const MAX = {
  /** bytes: --memory, --fsize, --log-max-size (1024t, 1 PiB) */
  bytes: 2 ** 50,
  cpus: 1024,
  /** the kernel's PID_MAX_LIMIT */
  pids: 4_194_304,
  /** the kernel's default fs.nr_open */
  nofile: 1_048_576,
  /** seconds of CPU (365 days) */
  cpuTime: 31_536_000,
  /** every duration, in milliseconds (365 days, 8760h) */
  durationMs: 31_536_000_000,
  logMaxFiles: 100,
  /** restart on-failure:N and --health-retries */
  retries: 1_000_000,
  /** uid and gid: (uid_t)-1 means "unchanged" to the kernel */
  id: 4_294_967_294,
  port: 65_535,
} as const;

/** The smallest disk quota: an ext4 file system of less has little room beside its own journal and tables. */
export const QUOTA_MIN = 16 * 1024 * 1024;

/** The maximum size as users type it, with its exact byte count. */
export const SIZE_MAX_TEXT = `1024t (${MAX.bytes} bytes)`;
/** Every container-config schema, built once by schemas(). */
function buildSchemas() {
  const whole = (max: number, what: string) => z.number().int().positive().max(max, `at most ${what}`);
  const durationMs = (min: 0 | 1) => z.number().int().min(min).max(MAX.durationMs, 'at most 8760h (365 days)');
  /** seconds with at most millisecond precision: the supervisor counts in milliseconds */
  const seconds = z.number().max(MAX.durationMs / 1000, 'at most 8760h (365 days)')
    .refine((s) => Math.abs(s * 1000 - Math.round(s * 1000)) < 1e-3, 'whole milliseconds (at most three decimals)');

  const IsolationTypeSchema = z.enum(ISOLATION_TYPES);

  const ResourceLimitsSchema = z
    .object({
      memory: whole(MAX.bytes, SIZE_MAX_TEXT).optional(), // bytes
      /** memory plus swap in bytes (docker's --memory-swap, set by update); -1 unlimited swap; unset: no swap */
      memorySwap: z.number().int().min(-1).max(MAX.bytes).optional(),
      cpus: z.number().positive().max(MAX.cpus)
        .refine((n) => Math.abs(n * 1000 - Math.round(n * 1000)) < 1e-6 && n >= 0.001, 'a multiple of 0.001').optional(),
      /** relative CPU weight (docker's --cpu-shares): cpu.shares on v1, cpu.weight on v2 */
      cpuShares: z.number().int().min(2).max(262_144).optional(),
      pids: whole(MAX.pids, String(MAX.pids)).optional(),
      nofile: whole(MAX.nofile, String(MAX.nofile)).optional(),
      cpuTime: whole(MAX.cpuTime, `${MAX.cpuTime} seconds`).optional(), // seconds of CPU
      fsize: whole(MAX.bytes, SIZE_MAX_TEXT).optional(), // bytes
    })
    .strict();

  const VolumeSchema = z
    .object({
      /** a host path, or a volume's name ('' for an anonymous volume); at create, the host path mounted */
      source: z.string(),
      target: z.string().min(1),
      readOnly: z.boolean().default(false),
      /** how source is read when it is ambiguous: --mount says; -v takes a source without a slash as a volume */
      type: z.enum(['bind', 'volume']).optional(),
      /** the volume mounted (set at create for a named or anonymous volume) */
      name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/).optional(),
      /** made for this container alone: `rm -v` removes it with the container */
      anonymous: z.boolean().optional(),
      /** a volume of the local driver's type=tmpfs: a tmpfs of its own in each container */
      tmpfs: z.object({ size: z.number().int().positive().optional(), mode: z.number().int().min(0).max(0o7777).optional() }).strict().optional(),
      /** do not fill an empty volume from the image (--mount's volume-nocopy) */
      noCopy: z.boolean().optional(),
    })
    .strict();

  const RestartPolicySchema = z
    .object({
      name: z.enum(['no', 'on-failure', 'always', 'unless-stopped']).default('no'),
      maxRetries: z.number().int().min(0).max(MAX.retries).default(0),
      backoffInitialMs: durationMs(1).default(100),
      backoffMaxMs: durationMs(1).default(30_000),
      backoffResetMs: durationMs(1).default(10_000),
      /** when set, only runs shorter than this count toward maxRetries (PM2's min_uptime) */
      minUptimeMs: durationMs(1).optional(),
    })
    .strict();

  const HealthCheckSchema = z
    .object({
      cmd: z.array(z.string()).min(1),
      intervalMs: durationMs(1).default(30_000),
      timeoutMs: durationMs(1).default(10_000),
      retries: whole(MAX.retries, String(MAX.retries)).default(3),
      startPeriodMs: durationMs(0).default(0),
      restartOnUnhealthy: z.boolean().default(false),
    })
    .strict();

  /** What a bot file promises beyond the restart policy, kept by the supervisor alone (runtime/keep-plan.ts). */
  const KeepPromisesSchema = z
    .object({
      /** bytes: a graceful restart when the memory in use passes them (PM2's max_memory_restart) */
      memoryRestart: z.number().int().positive().optional(),
      memoryCheckMs: z.number().int().min(10).optional(),
      /** a cron pattern (5 or 6 fields): a graceful restart at each time it fires */
      cronRestart: z.string().min(1).optional(),
      /** absolute paths whose change restarts gracefully; ignore globs are relative to base */
      watch: z.object({ paths: z.array(z.string().startsWith('/')), base: z.string().startsWith('/'), ignore: z.array(z.string()), delayMs: z.number().int().min(0) }).strict().optional(),
      /** extra copies of stdout and stderr, each line prefixed with a strftime(3) time (plus %L, %:z) */
      copyOut: z.string().startsWith('/').optional(),
      copyErr: z.string().startsWith('/').optional(),
      copyDateFormat: z.string().optional(),
    })
    .strict();

  const NetworkModeSchema = z.enum(['host', 'none', 'private']);

  /** A container's place on a user network: the network's name and the extra names it answers to there. */
  const NetworkAttachmentSchema = z
    .object({
      name: z.string().regex(NAME_RE, 'a network name such as app_default'),
      aliases: z.array(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, 'a host name such as store')).default([]),
    })
    .strict();

  const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
  const Ipv4Schema = z.string().regex(IPV4_RE, 'an IPv4 address such as 10.0.0.1');

  /** One published port: HOSTIP:HOSTPORT on the host forwarded to CONTAINERPORT inside (hostPort 0: pick a free one). */
  const PortMappingSchema = z
    .object({
      hostIp: Ipv4Schema.default('0.0.0.0'),
      hostPort: z.number().int().min(0).max(65535).default(0),
      containerPort: z.number().int().min(1).max(65535),
      protocol: z.enum(['tcp', 'udp']).default('tcp'),
    })
    .strict();

  const DeviceRateSchema = z.object({ path: z.string().startsWith('/'), rate: z.number().int().positive().max(1e11) }).strict();
  /** docker's --blkio-weight and --device-{read,write}-{bps,iops}: blkio on cgroup v1, io on v2. */
  const BlkioSchema = z
    .object({
      weight: z.number().int().min(10).max(1000).optional(),
      readBps: z.array(DeviceRateSchema).default([]),
      writeBps: z.array(DeviceRateSchema).default([]),
      readIops: z.array(DeviceRateSchema).default([]),
      writeIops: z.array(DeviceRateSchema).default([]),
    })
    .strict();

  const ContainerConfigSchema = z
    .object({
      name: z.string().regex(NAME_RE).optional(),
      image: z.string().min(1),
      command: z.array(z.string()).default([]),
      /** runs before command (docker's Entrypoint); from the image or --entrypoint */
      entrypoint: z.array(z.string()).optional(),
      /** the OCI image id (config digest) the container was created from, pinned at create */
      imageId: z.string().regex(/^sha256:[a-f0-9]{64}$/).optional(),
      /** ports the image declares (docker's ExposedPorts), shown by inspect */
      exposedPorts: z.array(z.string()).optional(),
      env: z.record(z.string()).default({}),
      workdir: z.string().startsWith('/').optional(),
      user: z.object({ uid: z.number().int().min(0).max(MAX.id), gid: z.number().int().min(0).max(MAX.id) }).optional(),
      /** docker's --user as given (NAME, UID, NAME:GROUP, UID:GID): resolved into user at create against the image's own /etc */
      userName: z.string().min(1).max(512).optional(),
      hostname: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/).optional(),
      isolation: IsolationTypeSchema.optional(),
      limits: ResourceLimitsSchema.default({}),
      volumes: z.array(VolumeSchema).default([]),
      /** docker's --volumes-from CONTAINER[:ro|rw]: their mounts are copied into volumes at create */
      volumesFrom: z.array(z.string().min(1)).default([]),
      /** allow a volume whose source is the host's root, or holds or lies within the storage directory */
      /** copy a path image's files afresh at every start, so each run runs the code now on disk (bots) */
      refreshApp: z.boolean().default(false),
      /** --rm, HostConfig.AutoRemove: once the supervisor has recorded the final exit, the engine removes the container */
      autoRemove: z.boolean().optional(),
      allowHostRoot: z.boolean().default(false),
      restart: RestartPolicySchema.default({}),
      stopSignal: z.number().int().min(1).max(64).default(15),
      stopTimeout: seconds.pipe(z.number().min(0)).default(10), // seconds, whole milliseconds
      timeout: seconds.pipe(z.number().positive()).optional(), // seconds, whole milliseconds
      health: HealthCheckSchema.optional(),
      /** a bot file's memory, cron and watch restarts and its log copies */
      keep: KeepPromisesSchema.optional(),
      logMaxSize: whole(MAX.bytes, SIZE_MAX_TEXT).default(10 * 1024 * 1024),
      logMaxFiles: whole(MAX.logMaxFiles, String(MAX.logMaxFiles)).default(3),
      labels: z.record(z.string()).default({}),
      /** a loopback port for the bot, given to it as PORT ('auto' picks a free one at create) */
      port: z.union([z.literal('auto'), z.number().int().min(1).max(MAX.port)]).optional(),
      /** docker's -t: the command gets a terminal of its own (the supervisor holds the master) */
      tty: z.boolean().default(false),
      /** docker's -i: the command's stdin stays open for attached clients */
      interactive: z.boolean().default(false),
      /** missing in containers created before networks existed: their old mode (host, or none at strict) */
      network: NetworkModeSchema.optional(),
      /**
       * user networks the container is on (network private): it reaches their other members on every port and
       * resolves their names and aliases (docs/network.md)
       */
      networks: z.array(NetworkAttachmentSchema).default([]),
      /** docker's links on a user network: another container of a shared network, named alias here too */
      links: z.array(z.object({ name: z.string().regex(NAME_RE), alias: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/) }).strict()).default([]),
      publish: z.array(PortMappingSchema).default([]),
      dns: z.array(Ipv4Schema).default([]),
      addHosts: z.array(z.object({ host: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,252}$/), ip: Ipv4Schema }).strict()).default([]),
      /** bytes per second each way through the container's interface (private network only) */
      networkBandwidth: z.number().int().positive().max(100 * 1024 ** 3, 'at most 100g (bytes per second)').optional(),
      /** docker's --security-opt seccomp: the level's default filter when absent */
      seccomp: seccompSchemas().SeccompSettingSchema.optional(),
      blkio: BlkioSchema.optional(),
      capAdd: z.array(z.string().regex(/^[A-Z_]+$/)).default([]),
      capDrop: z.array(z.string().regex(/^[A-Z_]+$/)).default([]),
      /** standard and strict always set no_new_privs; minimal only when asked */
      noNewPrivileges: z.boolean().optional(),
      readOnly: z.boolean().optional(),
      tmpfs: z
        .array(z.object({ path: z.string().startsWith('/'), size: z.number().int().positive().max(MAX.bytes).optional(), mode: z.number().int().min(0).max(0o7777).optional() }).strict())
        .default([]),
      shmSize: z.number().int().min(4096).max(MAX.bytes).optional(),
      /** docker's --storage-opt size: bytes the writable layer and /app may hold together (a file system of their own) */
      storageSize: z.number().int().min(QUOTA_MIN, 'at least 16m (the file system keeps its own records in it)').max(MAX.bytes).optional(),
      /** docker's --oom-score-adj: how readily the kernel's OOM killer picks the container's processes */
      oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
      /** docker's -P: every exposed port published on a free host port */
      publishAll: z.boolean().optional(),
      /** docker's --platform: the image must be for it (os/arch[/variant]) */
      platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'an os/arch such as linux/amd64').optional(),
    })
    .strict();

  return { IsolationTypeSchema, ResourceLimitsSchema, VolumeSchema, RestartPolicySchema, HealthCheckSchema, KeepPromisesSchema, NetworkModeSchema, NetworkAttachmentSchema, Ipv4Schema, PortMappingSchema, BlkioSchema, ContainerConfigSchema };
}

let built: ReturnType<typeof buildSchemas> | undefined;
/** The zod schemas, built on first use: building them cost a few milliseconds of every CLI start, and ps, inspect and exec never validate a config. */
export function schemas(): ReturnType<typeof buildSchemas> {
  return (built ??= buildSchemas());
}
type Built = ReturnType<typeof buildSchemas>;
export type IsolationType = z.infer<Built['IsolationTypeSchema']>;
export type ResourceLimits = z.infer<Built['ResourceLimitsSchema']>;
export type Volume = z.infer<Built['VolumeSchema']>;
export type RestartPolicy = z.infer<Built['RestartPolicySchema']>;
export type HealthCheck = z.infer<Built['HealthCheckSchema']>;
export type KeepPromises = z.infer<Built['KeepPromisesSchema']>;
export type NetworkMode = z.infer<Built['NetworkModeSchema']>;
export type NetworkAttachment = z.output<Built['NetworkAttachmentSchema']>;
export type PortMapping = z.output<Built['PortMappingSchema']>;
export type Blkio = z.output<Built['BlkioSchema']>;
export type ContainerConfig = z.input<Built['ContainerConfigSchema']>;
export type ResolvedConfig = z.output<Built['ContainerConfigSchema']>;
