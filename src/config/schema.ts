// zod schemas: the single source of truth for container configuration; types come from z.infer.
import { z } from 'zod';

export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

export const IsolationTypeSchema = z.enum(['minimal', 'standard', 'strict']);
export type IsolationType = z.infer<typeof IsolationTypeSchema>;

export const ResourceLimitsSchema = z
  .object({
    memory: z.number().int().positive().optional(), // bytes
    cpus: z.number().positive().max(1024).optional(),
    pids: z.number().int().positive().optional(),
    nofile: z.number().int().positive().optional(),
    cpuTime: z.number().int().positive().optional(), // seconds of CPU
    fsize: z.number().int().positive().optional(), // bytes
  })
  .strict();
export type ResourceLimits = z.infer<typeof ResourceLimitsSchema>;

export const VolumeSchema = z
  .object({
    source: z.string().min(1),
    target: z.string().min(1),
    readOnly: z.boolean().default(false),
  })
  .strict();
export type Volume = z.infer<typeof VolumeSchema>;

export const RestartPolicySchema = z
  .object({
    name: z.enum(['no', 'on-failure', 'always', 'unless-stopped']).default('no'),
    maxRetries: z.number().int().min(0).default(0),
    backoffInitialMs: z.number().int().positive().default(100),
    backoffMaxMs: z.number().int().positive().default(30_000),
    backoffResetMs: z.number().int().positive().default(10_000),
  })
  .strict();
export type RestartPolicy = z.infer<typeof RestartPolicySchema>;

export const HealthCheckSchema = z
  .object({
    cmd: z.array(z.string()).min(1),
    intervalMs: z.number().int().positive().default(30_000),
    timeoutMs: z.number().int().positive().default(10_000),
    retries: z.number().int().positive().default(3),
    startPeriodMs: z.number().int().min(0).default(0),
    restartOnUnhealthy: z.boolean().default(false),
  })
  .strict();
export type HealthCheck = z.infer<typeof HealthCheckSchema>;

export const NetworkModeSchema = z.enum(['host', 'none', 'private']);
export type NetworkMode = z.infer<typeof NetworkModeSchema>;

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
export const Ipv4Schema = z.string().regex(IPV4_RE, 'an IPv4 address such as 10.0.0.1');

/** One published port: HOSTIP:HOSTPORT on the host forwarded to CONTAINERPORT inside (hostPort 0: pick a free one). */
export const PortMappingSchema = z
  .object({
    hostIp: Ipv4Schema.default('0.0.0.0'),
    hostPort: z.number().int().min(0).max(65535).default(0),
    containerPort: z.number().int().min(1).max(65535),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
  })
  .strict();
export type PortMapping = z.output<typeof PortMappingSchema>;

export const ContainerConfigSchema = z
  .object({
    name: z.string().regex(NAME_RE).optional(),
    image: z.string().min(1),
    command: z.array(z.string()).default([]),
    env: z.record(z.string()).default({}),
    workdir: z.string().startsWith('/').optional(),
    user: z.object({ uid: z.number().int().min(0), gid: z.number().int().min(0) }).optional(),
    hostname: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/).optional(),
    isolation: IsolationTypeSchema.optional(),
    limits: ResourceLimitsSchema.default({}),
    volumes: z.array(VolumeSchema).default([]),
    restart: RestartPolicySchema.default({}),
    stopSignal: z.number().int().min(1).max(64).default(15),
    stopTimeout: z.number().min(0).default(10),
    timeout: z.number().positive().optional(),
    health: HealthCheckSchema.optional(),
    logMaxSize: z.number().int().positive().default(10 * 1024 * 1024),
    logMaxFiles: z.number().int().positive().max(100).default(3),
    labels: z.record(z.string()).default({}),
    /** a loopback port for the bot, given to it as PORT ('auto' picks a free one at create) */
    port: z.union([z.literal('auto'), z.number().int().min(1).max(65535)]).optional(),
    /** missing in containers created before networks existed: their old mode (host, or none at strict) */
    network: NetworkModeSchema.optional(),
    publish: z.array(PortMappingSchema).default([]),
    dns: z.array(Ipv4Schema).default([]),
    addHosts: z.array(z.object({ host: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,252}$/), ip: Ipv4Schema }).strict()).default([]),
    /** bytes per second each way through the container's interface (private network only) */
    networkBandwidth: z.number().int().positive().max(1e11).optional(),
  })
  .strict();
export type ContainerConfig = z.input<typeof ContainerConfigSchema>;
export type ResolvedConfig = z.output<typeof ContainerConfigSchema>;
