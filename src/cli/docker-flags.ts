// docker's spellings of the container flags codex32 names its own way: --pids-limit, --ulimit,
// --log-opt and --memory-swap fold into --pids, --nofile/--cpu-time/--fsize, --log-max-size/--log-max-files
// and the swap limit. Two spellings of one limit that disagree are refused, never one silently kept.
import type { Command } from 'commander';
import { parseSize } from '../config/parse.js';
import { EngineError, expected } from '../errors.js';
import type { ContainerFlags } from './options.js';

/** The docker-spelled flags, as commander parses them. */
export interface DockerFlags {
  pidsLimit?: string;
  ulimit?: string[];
  logOpt?: string[];
  memorySwap?: string;
}

/** The codex32 flags the docker spellings fold into (declared once, in ContainerFlags). */
type Folded = DockerFlags & Pick<ContainerFlags, 'pids' | 'nofile' | 'cpuTime' | 'fsize' | 'logMaxSize' | 'logMaxFiles'>;

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Declare docker's spellings beside codex32's own (create and run). */
export function dockerFlagOptions(cmd: Command): Command {
  return cmd
    .option('--pids-limit <n>', "docker's name for --pids")
    .option('--memory-swap <size>', 'memory plus swap (-1: unlimited swap; default: no swap), with --memory')
    .option('--ulimit <name=soft[:hard]>', 'nofile, cpu or fsize (docker\'s form of --nofile, --cpu-time, --fsize; the lower value holds) (repeatable)', collect)
    .option('--log-opt <k=v>', "max-size=SIZE or max-file=N (docker's form of --log-max-size, --log-max-files) (repeatable)", collect);
}

/** Set into flags the codex32 flag a docker spelling stands for, refusing two that disagree. */
function fold(flags: Folded, key: 'pids' | 'nofile' | 'cpuTime' | 'fsize' | 'logMaxSize' | 'logMaxFiles', value: string, given: string): void {
  const own = flags[key];
  if (own !== undefined && own !== value)
    throw new EngineError('INVALID_CONFIG', `Expected one value for ${given} and its codex32 spelling, got \`${value}\` and \`${own}\`. Give one of them.`);
  flags[key] = value;
}

/** Fold docker's spellings into codex32's; returns the swap limit in bytes (-1 unlimited), if given. */
export function foldDockerFlags(flags: Folded): number | undefined {
  if (flags.pidsLimit !== undefined) fold(flags, 'pids', flags.pidsLimit, '`--pids-limit`');
  for (const u of flags.ulimit ?? []) {
    const m = /^(nofile|cpu|fsize)=(\d+)(?::(\d+))?$/.exec(u);
    if (!m) throw expected('`--ulimit`', 'nofile=N[:M], cpu=N[:M] or fsize=N[:M] (the limits codex32 sets; nproc is --pids)', u);
    // one value per limit: the lower, so neither soft nor hard is looser than asked
    const v = String(Math.min(Number(m[2]), Number(m[3] ?? m[2])));
    fold(flags, m[1] === 'nofile' ? 'nofile' : m[1] === 'cpu' ? 'cpuTime' : 'fsize', v, `\`--ulimit ${m[1]}\``);
  }
  for (const o of flags.logOpt ?? []) {
    const m = /^(max-size|max-file)=(.+)$/.exec(o);
    if (!m) throw expected('`--log-opt`', 'max-size=SIZE or max-file=N (the json-file options codex32 keeps)', o);
    fold(flags, m[1] === 'max-size' ? 'logMaxSize' : 'logMaxFiles', m[2], `\`--log-opt ${m[1]}\``);
  }
  if (flags.memorySwap === undefined) return undefined;
  return flags.memorySwap === '-1' ? -1 : parseSize('`--memory-swap`', flags.memorySwap);
}
