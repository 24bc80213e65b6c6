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
    /** when set, only runs shorter than this count toward maxRetries (PM2's min_uptime) */
    minUptimeMs: z.number().int().positive().optional(),
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
  })
  .strict();
export type ContainerConfig = z.input<typeof ContainerConfigSchema>;
export type ResolvedConfig = z.output<typeof ContainerConfigSchema>;
