// docker's seccomp profile format (the JSON `--security-opt seccomp=FILE` reads), validated by zod.
import { z } from 'zod';
import { EngineError } from '../errors.js';

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
] as const;
export const SECCOMP_OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;
export const SECCOMP_ARCHES = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64',
] as const;
/** Filter flags libseccomp can set (the others docker knows need a listener, which codex32 has not). */
export const SECCOMP_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] as const;

/** Every seccomp-profile schema, built once by seccompSchemas(). */
function buildSeccompSchemas() {
  const Action = z.enum(SECCOMP_ACTIONS);
  const Arch = z.enum(SECCOMP_ARCHES);
  const Errno = z.number().int().min(0).max(4095);
  // JSON numbers past 2^53 lose precision silently: refuse them rather than filter on a different value
  const Value = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
  const Caps = z.array(z.string().regex(/^CAP_[A-Z_]+$/, 'a capability name such as CAP_SYS_ADMIN'));
  const Kernel = z.string().regex(/^\d+\.\d+$/, 'a kernel version such as 4.8');

  const ArgSchema = z
    .object({
      index: z.number().int().min(0).max(5),
      value: Value,
      valueTwo: Value.default(0),
      op: z.enum(SECCOMP_OPS),
    })
    .strict();

  const FilterSchema = z
    .object({ caps: Caps.optional(), arches: z.array(z.string()).optional(), minKernel: Kernel.optional() })
    .strict();

  const SyscallName = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a syscall name such as mkdir');

  const SeccompRuleSchema = z
    .object({
      names: z.array(SyscallName).min(1).optional(),
      name: SyscallName.optional(), // the older single-name form
      action: Action,
      errnoRet: Errno.optional(),
      args: z.array(ArgSchema).max(6).nullable().optional(),
      comment: z.string().optional(),
      includes: FilterSchema.optional(),
      excludes: FilterSchema.optional(),
    })
    .strict()
    .refine((r) => r.names || r.name, { message: 'a rule needs `names` (a list of syscall names)' });

  const SeccompProfileSchema = z
    .object({
      defaultAction: Action,
      defaultErrnoRet: Errno.optional(),
      architectures: z.array(Arch).optional(),
      archMap: z.array(z.object({ architecture: Arch, subArchitectures: z.array(Arch).nullable().default([]) }).strict()).nullable().optional(),
      flags: z.array(z.enum(SECCOMP_FLAGS)).nullable().optional(),
      syscalls: z.array(SeccompRuleSchema).nullable().default([]),
    })
    .strict();

  /** What a container runs under: the level's default filter, none, or a profile of the user's. */
  const SeccompSettingSchema = z.union([z.literal('default'), z.literal('unconfined'), SeccompProfileSchema]);

  return { SeccompRuleSchema, SeccompProfileSchema, SeccompSettingSchema };
}

let built: ReturnType<typeof buildSeccompSchemas> | undefined;
/** The zod schemas, built on first use: building them cost a few milliseconds of every CLI start, and ps, inspect and exec never validate a config. */
export function seccompSchemas(): ReturnType<typeof buildSeccompSchemas> {
  return (built ??= buildSeccompSchemas());
}
type Built = ReturnType<typeof buildSeccompSchemas>;
export type SeccompRule = z.infer<Built['SeccompRuleSchema']>;
export type SeccompProfile = z.infer<Built['SeccompProfileSchema']>;
export type SeccompSetting = z.infer<Built['SeccompSettingSchema']>;

/** Path of a zod issue in the profile's own notation, e.g. syscalls[3].action. */
function fieldPath(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('') || 'profile';
}

/** Parse and validate a seccomp profile's text; errors name the field and the file. */
export function parseSeccompProfile(text: string, source: string): SeccompProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new EngineError('INVALID_CONFIG', `Expected the seccomp profile ${source} to be JSON, got a parse error: ${(e as Error).message}`);
  }
  const r = seccompSchemas().SeccompProfileSchema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const at = fieldPath(issue.path);
  const form =
    issue.code === 'invalid_enum_value'
      ? `one of ${issue.options.join(', ')}`
      : issue.code === 'unrecognized_keys'
        ? `free of unknown fields (${issue.keys.join(', ')})`
        : issue.message.replace(/^Invalid input: /, '').toLowerCase();
  const got = issue.code === 'invalid_enum_value' ? `, got \`${String(issue.received)}\`` : '';
  throw new EngineError('INVALID_CONFIG', `Expected \`${at}\` in the seccomp profile ${source} to be ${form}${got}`, { context: { path: source, field: at } });
}

/** Parse the value of `--security-opt seccomp=...` (docker also accepts `seccomp:`): unconfined, or a profile file. */
export function parseSeccompOpt(value: string, readFile: (path: string) => string): SeccompSetting {
  const v = value.replace(/^seccomp[=:]/, '');
  if (v === 'unconfined') return 'unconfined';
  if (!v) throw new EngineError('INVALID_CONFIG', 'Expected `--security-opt seccomp` to be unconfined or a profile file such as seccomp=profile.json, got nothing');
  let text: string;
  try {
    text = readFile(v);
  } catch {
    throw new EngineError('INVALID_CONFIG', `Expected \`--security-opt seccomp\` to name a readable JSON profile, got \`${v}\``);
  }
  return parseSeccompProfile(text, v);
}
