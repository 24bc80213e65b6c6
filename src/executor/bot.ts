// The bot model (zod): what a user deploys, whichever backend runs it. Files use human units (64m, 0.5, on-failure:3).
import { z } from 'zod';
import { parseRestart, parseSignal, parseSize, type RestartName } from '../config/parse.js';
import { ISOLATION_TYPES, MAX, NAME_RE, SIZE_MAX_TEXT } from '../config/schema.js';
import { EngineError } from '../errors.js';
import { cronValid } from './schedule.js';

/** A bot's restart policy when its file gives none. */
const DEFAULT_RESTART = 'no';

export const DeploymentTypeSchema = z.enum(['LOCAL_PROCESS', 'CUSTOM_CONTAINER', 'KUBERNETES_POD']);
export type DeploymentType = z.infer<typeof DeploymentTypeSchema>;

/** a value that must parse with one of our parsers: the parser's message becomes the zod issue */
const parsed = <T>(fn: (v: string) => T, what: string) =>
  z.string().transform((v, ctx) => {
    try {
      return fn(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^Expected `?[^`]*`? to be/, `Expected ${what} to be`) });
      return z.NEVER;
    }
  });

// a JSON or YAML number is a double: within the maximum (2^50) every whole number is exact
const Size = z.union([z.number().int().positive().max(MAX.bytes, `at most ${SIZE_MAX_TEXT}`), parsed((v) => parseSize('the value', v), 'the value')]);
const Seconds = z.number().min(0).max(MAX.durationMs / 1000, "at most 31536000 seconds (365 days)");
const Signal = z.union([z.number().int().min(1).max(64), parsed(parseSignal, 'a signal such as SIGINT or 15')]);

/** a cron pattern (5 or 6 fields), checked by croner when the file is read */
const Cron = z.string().superRefine((v, ctx) => {
  if (!cronValid(v)) ctx.addIssue({ code: 'custom', message: `Expected a cron pattern such as "0 3 * * *", got \`${v}\`` });
});

/** a data volume: a named directory codex32 keeps for the bot, mounted at target */
const DataVolume = z.union([
  z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*:\/[^:]*$/, 'Expected a volume as NAME:/path, such as data:/data'),
  z.object({ name: z.string().regex(NAME_RE, 'Expected a volume name of letters, digits, _ . -'), target: z.string().startsWith('/') }).strict(),
]).transform((v) => (typeof v === 'string' ? { name: v.slice(0, v.indexOf(':')), target: v.slice(v.indexOf(':') + 1) } : v));

export const BotSchema = z
  .object({
    // at most 59 characters: its container is named bot-NAME
    name: z.string().regex(NAME_RE, 'Expected a name of letters, digits, _ . - starting with a letter or digit').max(59, 'Expected a name of at most 59 characters'),
    script: z.string().min(1, 'Expected the path of a script or directory').optional(),
    /** an OCI image (as `codex32 pull` names it) to run instead of a script: the same image runs here and in a cluster */
    image: z.string().min(1, 'Expected an image reference such as team/bot:1.0').optional(),
    args: z.array(z.string()).default([]),
    env: z.record(z.string()).default({}),
    /** PM2's namespace: `bot stop NAMESPACE` selects every bot in it */
    namespace: z.string().regex(NAME_RE, 'Expected a namespace of letters, digits, _ . - starting with a letter or digit').max(64).optional(),
    /** the bot's log rotates past this size (default 10 MiB)... */
    max_size: Size.optional(),
    /** ...keeping this many rotated files beside the live one (default 2) */
    retain: z.number().int().min(1).max(MAX.logMaxFiles - 1).optional(),
    /** set by `instances`: the definition this copy was made from */
    instance_of: z.string().optional(),
    /**
     * set by `exec_mode: cluster`: the instances of `instance_of` all listen on `port` at their own private
     * address, and 127.0.0.1:port on the host is balanced over the running ones (balancer.ts)
     */
    cluster: z
      .object({
        port: z.number().int().min(1).max(MAX.port),
        /** seconds a new instance has, at reload, to accept connections before the reload gives up on it */
        listen_timeout: Seconds.positive().default(10),
      })
      .strict()
      .optional(),
    /** restart when a file under the bot's directory changes (or under the paths listed), unless ignored */
    watch: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
    watch_ignore: z.array(z.string().min(1)).default([]),
    watch_delay: Seconds.default(1),
    /** extra copies of the bot's output (the bot's own log stays the source of `bot logs`) */
    out_file: z.string().min(1).optional(),
    error_file: z.string().min(1).optional(),
    log_date_format: z.string().min(1).optional(),
    deployment: z
      .object({
        type: DeploymentTypeSchema.default('CUSTOM_CONTAINER'),
        isolation: z.enum(ISOLATION_TYPES).optional(),
        limits: z
          .object({
            memory: Size.optional(),
            cpus: z.number().positive().max(MAX.cpus).optional(),
            pids: z.number().int().positive().max(MAX.pids).optional(),
            nofile: z.number().int().positive().max(MAX.nofile).optional(),
          })
          .strict()
          .default({}),
        restart: parsed(parseRestart, 'the restart policy').default(DEFAULT_RESTART),
        /** seconds before the first restart, doubling per quick failure up to backoff_max */
        restart_delay: Seconds.optional(),
        /** PM2's limit: at most this many restarts of runs that lasted less than min_uptime seconds */
        max_restarts: z.number().int().min(1, 'Expected at least 1 (use restart: no for none)').optional(),
        min_uptime: Seconds.optional(),
        backoff_max: Seconds.optional(),
        stop_signal: Signal.default(15),
        stop_timeout: Seconds.default(10),
        /** a graceful restart when the bot's memory passes this (the hard limit is limits.memory) */
        memory_restart: Size.optional(),
        cron_restart: Cron.optional(),
        /** data volumes: directories codex32 keeps for the bot across restarts, re-applies and removal */
        volumes: z.array(DataVolume).default([]),
        health: z
          .object({
            cmd: z.string().min(1),
            interval: Seconds.positive().default(30),
            timeout: Seconds.positive().default(10),
            retries: z.number().int().positive().max(MAX.retries).default(3),
            startPeriod: Seconds.min(0).default(0),
            restart: z.boolean().default(false),
          })
          .strict()
          .optional(),
        port: z.union([z.literal('auto'), z.number().int().min(1).max(MAX.port)]).optional(),
        /** a disk quota on the bot container's writable layer and /app (docker's --storage-opt size) */
        storage_size: Size.optional(),
        image: z.string().min(1).optional(), // the container image a KUBERNETES_POD runs
        namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).default('default'),
      })
      .strict()
      .default({}),
    autostart: z.boolean().default(true),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (!b.script === !b.image) ctx.addIssue({ code: 'custom', path: ['script'], message: 'Expected exactly one of `script` (a path) and `image` (an OCI image such as team/bot:1.0)' });
    if (b.image && b.deployment.type === 'LOCAL_PROCESS') ctx.addIssue({ code: 'custom', path: ['image'], message: 'Expected a script for LOCAL_PROCESS, which runs on the host without a root filesystem; an image needs CUSTOM_CONTAINER or KUBERNETES_POD' });
    if (b.cluster && !b.instance_of) ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'Expected `cluster` only on an instance of a group (set by `exec_mode: cluster` with `instances`)' });
    if (b.cluster && b.deployment.type !== 'CUSTOM_CONTAINER')
      ctx.addIssue({ code: 'custom', path: ['deployment', 'type'], message: 'Expected CUSTOM_CONTAINER for cluster mode: each instance needs its own private network address to share one port; a LOCAL_PROCESS instance would share the host\'s' });
    if (b.deployment.storage_size !== undefined && b.deployment.type === 'LOCAL_PROCESS')
      ctx.addIssue({ code: 'custom', path: ['deployment', 'storage_size'], message: "Expected no storage_size for LOCAL_PROCESS, which runs on the host's file system that no quota bounds; use CUSTOM_CONTAINER (standard or strict) or KUBERNETES_POD" });
    if (b.image && b.watch !== false) ctx.addIssue({ code: 'custom', path: ['watch'], message: 'Expected no watch for an image bot: it has no files on the host to watch' });
    // refused rather than ignored: each would do nothing where it is
    if (b.log_date_format && !b.out_file && !b.error_file)
      ctx.addIssue({ code: 'custom', path: ['log_date_format'], message: 'Expected out_file or error_file with it: it formats the times in those copies (codex32\'s own log has the time of every line: `codex32 bot logs -t NAME`)' });
    if (b.deployment.type !== 'KUBERNETES_POD' && b.deployment.namespace !== 'default')
      ctx.addIssue({ code: 'custom', path: ['deployment', 'namespace'], message: 'Expected only with type KUBERNETES_POD (the cluster\'s namespace); PM2\'s namespace is the top-level `namespace`' });
    if (b.deployment.type !== 'KUBERNETES_POD' && b.deployment.image)
      ctx.addIssue({ code: 'custom', path: ['deployment', 'image'], message: 'Expected only with type KUBERNETES_POD; a container bot runs its script, or the top-level `image`' });
  });

export type BotInput = z.input<typeof BotSchema>;
export type Bot = z.output<typeof BotSchema>;

/** What a listing needs of a stored bot: read without a full validation (done when it was stored), which costs more than the rest of a listing of many bots. */
export interface BotBrief {
  name: string;
  type: DeploymentType;
  namespace?: string;
  /** the restart policy's name */
  restart: RestartName;
  /** cron_restart's pattern: a look at the bot re-arms its supervisor's cron restarts */
  cron?: string;
}

/** The brief of a stored bot from its stored definition and type. */
export function botBrief(name: string, type: string, config: unknown): BotBrief {
  const c = (config ?? {}) as { namespace?: string; deployment?: { restart?: string; cron_restart?: string } };
  const cron = c.deployment?.cron_restart;
  return { name, type: type as DeploymentType, namespace: c.namespace, restart: parseRestart(c.deployment?.restart ?? DEFAULT_RESTART).name, ...(cron ? { cron } : {}) };
}

/** Every problem with one bot, each naming the bot and the field. */
export function botIssues(input: unknown, where = 'bot'): string[] {
  const r = BotSchema.safeParse(input);
  if (r.success) return [];
  const name = (input as { name?: unknown } | null)?.name;
  const label = typeof name === 'string' && name ? `bot ${name}` : where;
  return r.error.issues.map((i) => `${label}: ${[...i.path].join('.') || 'definition'}: ${i.message}`);
}

/** Validate one bot; a bad field is named with what is expected. */
export function parseBot(input: unknown, where = 'bot'): Bot {
  const r = BotSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = botIssues(input, where);
  throw new EngineError('INVALID_CONFIG', `Invalid ${issues.join('\n')}`, { context: { issues } });
}

/** Validate a list of raw definitions: every bot valid, no name twice; every problem reported at once. */
export function validateBots(list: unknown[]): Bot[] {
  const issues = list.flatMap((b, i) => botIssues(b, `bots[${i}]`));
  const seen = new Set<string>();
  for (const b of list) {
    const name = (b as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') continue;
    if (seen.has(name)) issues.push(`bot ${name}: the name \`${name}\` appears twice`);
    seen.add(name);
  }
  if (issues.length) throw new EngineError('INVALID_CONFIG', `Invalid bot file:\n  ${issues.join('\n  ')}`, { context: { issues } });
  return list.map((b) => BotSchema.parse(b));
}
