// The bot model (zod): what a user deploys, whichever backend runs it. Files use human units (64m, 0.5, on-failure:3).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import { parseRestart, parseSize } from '../config/parse.js';
import { IsolationTypeSchema, MAX, NAME_RE, SIZE_MAX_TEXT } from '../config/schema.js';
import { EngineError } from '../errors.js';

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
const Seconds = z.number().max(MAX.durationMs / 1000, 'at most 31536000 seconds (365 days)');

export const BotSchema = z
  .object({
    // at most 59 characters: its container is named bot-NAME
    name: z.string().regex(NAME_RE, 'Expected a name of letters, digits, _ . - starting with a letter or digit').max(59, 'Expected a name of at most 59 characters'),
    script: z.string().min(1, 'Expected the path of a script or directory'),
    args: z.array(z.string()).default([]),
    env: z.record(z.string()).default({}),
    deployment: z
      .object({
        type: DeploymentTypeSchema.default('CUSTOM_CONTAINER'),
        isolation: IsolationTypeSchema.optional(),
        limits: z
          .object({
            memory: Size.optional(),
            cpus: z.number().positive().max(MAX.cpus).optional(),
            pids: z.number().int().positive().max(MAX.pids).optional(),
            nofile: z.number().int().positive().max(MAX.nofile).optional(),
          })
          .strict()
          .default({}),
        restart: parsed(parseRestart, 'the restart policy').default('no'),
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
        image: z.string().min(1).optional(), // the container image a KUBERNETES_POD runs
        namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).default('default'),
      })
      .strict()
      .default({}),
    autostart: z.boolean().default(true),
  })
  .strict();

export type BotInput = z.input<typeof BotSchema>;
export type Bot = z.output<typeof BotSchema>;

/** Validate one bot; a bad field is named with what is expected. */
export function parseBot(input: unknown, where = 'bot'): Bot {
  const r = BotSchema.safeParse(input);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  const field = [where, ...i.path].join('.');
  throw new EngineError('INVALID_CONFIG', `Invalid ${field}: ${i.message}`, { context: { field } });
}

/** Read a bot file (JSON or YAML; `bots:` or PM2's `apps:`): the raw definitions, each one valid. */
export async function readBotFile(path: string): Promise<BotInput[]> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new EngineError('INVALID_CONFIG', `Expected a readable bot file, got \`${path}\``);
  }
  let doc: unknown;
  try {
    doc = extname(path) === '.json' ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (e) {
    throw new EngineError('INVALID_CONFIG', `Expected ${path} to be valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  const list = (doc as { bots?: unknown; apps?: unknown } | null)?.bots ?? (doc as { apps?: unknown } | null)?.apps;
  if (!Array.isArray(list)) throw new EngineError('INVALID_CONFIG', `Expected ${path} to hold a list under \`bots:\` (or \`apps:\`)`);
  validateBots(list);
  return list as BotInput[];
}

/** Validate a list of raw definitions: every bot valid, no name twice. Returns them parsed. */
export function validateBots(list: unknown[]): Bot[] {
  const bots = list.map((b, i) => parseBot(b, `bots[${i}]`));
  const seen = new Set<string>();
  for (const b of bots) {
    if (seen.has(b.name)) throw new EngineError('INVALID_CONFIG', `Invalid bots: the name \`${b.name}\` appears twice`);
    seen.add(b.name);
  }
  return bots;
}
