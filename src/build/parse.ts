// A Dockerfile as stages of checked instructions (parsed by dockerfile-ast); anything unsupported refused by name and line.
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { EngineError } from '../errors.js';

export interface Step {
  /** 1-based line of the instruction in the Dockerfile */
  line: number;
  keyword: string;
  /** the arguments as written (continuations joined), flags removed */
  args: string;
  /** the exec (JSON) form's strings, when the arguments are a JSON array */
  json?: string[];
  /** --name=value flags */
  flags: Record<string, string>;
  /** KEY=VALUE pairs of ENV, LABEL and ARG (ARG's value undefined when it has none) */
  pairs?: Array<[string, string | undefined]>;
}

export interface Stage {
  /** the FROM's image (variables not yet expanded), and its `AS name` */
  from: Step;
  image: string;
  name?: string;
  steps: Step[];
}

export interface ParsedDockerfile {
  /** ARGs before the first FROM: usable in FROM lines */
  globalArgs: Array<[string, string | undefined]>;
  stages: Stage[];
}

const SUPPORTED = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'WORKDIR', 'USER', 'CMD', 'ENTRYPOINT', 'EXPOSE', 'LABEL', 'VOLUME', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);
const FLAGS: Record<string, string[]> = { FROM: [], COPY: ['from', 'chown'], ADD: ['chown'], HEALTHCHECK: ['interval', 'timeout', 'start-period', 'retries'] };

function refuse(line: number, message: string): never {
  throw new EngineError('INVALID_CONFIG', `Dockerfile line ${line}: ${message}`);
}

/** The JSON array form of an instruction's arguments, or undefined for the shell form. */
function jsonForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  } catch {
    /* docker runs a malformed array as a shell command */
  }
  return undefined;
}

function toStep(ins: Instruction): Step {
  const line = ins.getRange().start.line + 1;
  const keyword = ins.getKeyword();
  if (!SUPPORTED.has(keyword)) refuse(line, `${keyword || ins.getInstruction()} is not supported by codex32 build. Remove it (docs/build.md lists what is supported).`);
  const withFlags = ins as Instruction & { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> };
  const flags: Record<string, string> = {};
  for (const f of withFlags.getFlags?.() ?? []) {
    if (!(FLAGS[keyword] ?? []).includes(f.getName())) refuse(line, `${keyword} --${f.getName()} is not supported by codex32 build.`);
    flags[f.getName()] = f.getValue() ?? '';
  }
  const args = (ins.getArgumentsContent() ?? '').trim();
  const step: Step = { line, keyword, args, flags };
  const json = jsonForm(args);
  if (json && ['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME'].includes(keyword)) step.json = json;
  const props = (ins as Instruction & { getProperties?: () => Array<{ getName(): string; getValue(): string | null }> }).getProperties?.();
  if (props && ['ENV', 'LABEL', 'ARG'].includes(keyword)) step.pairs = props.map((p) => [p.getName(), p.getValue() ?? (keyword === 'ARG' ? undefined : '')]);
  if (/^<<-?["']?[A-Za-z_]/.test(args) && ['RUN', 'COPY', 'ADD'].includes(keyword)) refuse(line, `here-documents (${keyword} <<EOF) are not supported by codex32 build.`);
  return step;
}

/** Parse a Dockerfile's text into stages; target, when given, must name one (building stops after it). */
export function parseDockerfile(text: string, target?: string): ParsedDockerfile {
  const df = DockerfileParser.parse(text);
  const out: ParsedDockerfile = { globalArgs: [], stages: [] };
  for (const ins of df.getInstructions()) {
    const step = toStep(ins);
    if (step.keyword === 'FROM') {
      const words = step.args.split(/\s+/).filter(Boolean);
      if (!(words.length === 1 || (words.length === 3 && words[1].toUpperCase() === 'AS'))) refuse(step.line, `expected FROM IMAGE [AS NAME], got \`FROM ${step.args}\``);
      const name = words[2]?.toLowerCase();
      if (name && out.stages.some((s) => s.name === name)) refuse(step.line, `the stage name ${name} is used twice.`);
      out.stages.push({ from: step, image: words[0], name, steps: [] });
      continue;
    }
    const stage = out.stages[out.stages.length - 1];
    if (!stage) {
      if (step.keyword !== 'ARG') refuse(step.line, `expected FROM before ${step.keyword}: a Dockerfile starts with FROM (only ARG may come before it).`);
      out.globalArgs.push(...(step.pairs ?? []));
      continue;
    }
    if (!step.args && step.keyword !== 'ENV') refuse(step.line, `${step.keyword} needs arguments.`);
    stage.steps.push(step);
  }
  if (!out.stages.length) throw new EngineError('INVALID_CONFIG', 'The Dockerfile has no FROM instruction. Start it with e.g. `FROM debian:bookworm`.');
  if (target !== undefined) {
    const i = out.stages.findIndex((s) => s.name === target.toLowerCase());
    if (i < 0) throw new EngineError('INVALID_CONFIG', `Expected --target to name a stage of the Dockerfile (${out.stages.map((s) => s.name).filter(Boolean).join(', ') || 'it has no named stage'}), got \`${target}\``);
    out.stages = out.stages.slice(0, i + 1);
  }
  return out;
}

/**
 * Expand $VAR, ${VAR}, ${VAR:-word} and ${VAR:+word} as docker does in Dockerfile instructions;
 * `\$` keeps a literal dollar sign. Unknown variables expand to nothing.
 */
export function expandVars(text: string, vars: Record<string, string>): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, braced?: string, op?: string, word?: string, bare?: string) => {
    if (m === '\\$') return '$';
    const name = braced ?? bare!;
    const v = vars[name];
    if (op === '-') return v === undefined || v === '' ? expandVars(word ?? '', vars) : v;
    if (op === '+') return v === undefined || v === '' ? '' : expandVars(word ?? '', vars);
    return v ?? '';
  });
}
