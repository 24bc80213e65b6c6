// What each Dockerfile instruction does to the image config; the ones that write files are planned here and run in files.ts and run.ts.
import { posix } from 'node:path';
import { EngineError } from '../errors.js';
import type { RuntimeConfig } from '../images/derive.js';
import { expandVars, type Step } from './parse.js';

/** The build state of one stage as its steps go. */
export interface StageState {
  config: RuntimeConfig;
  /** ARG values declared in this stage (what RUN sees as environment, and expansion uses) */
  args: Record<string, string>;
  /** true once this stage set CMD (ENTRYPOINT then keeps it) */
  cmdSet: boolean;
}

/** The PATH docker's builder sets in a stage whose image has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's default shell for the shell form. */
export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The image's environment as a record. */
export function envOf(config: RuntimeConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of config.Env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** Variables an instruction's arguments expand: the stage's ARGs, overridden by the image's ENV. */
export function varsOf(state: StageState): Record<string, string> {
  return { ...state.args, ...envOf(state.config) };
}

export function shellOf(config: RuntimeConfig): string[] {
  const s = (config as { Shell?: unknown }).Shell;
  return Array.isArray(s) && s.length ? (s as string[]) : DEFAULT_SHELL;
}

/** The argv of RUN, CMD or ENTRYPOINT: the exec form as is, the shell form through the stage's shell. */
export function commandOf(step: Step, config: RuntimeConfig): string[] {
  return step.json ?? [...shellOf(config), step.args];
}

/** Words of an instruction after expansion (EXPOSE, VOLUME's shell form). */
function words(step: Step, vars: Record<string, string>): string[] {
  return expandVars(step.args, vars).split(/\s+/).filter(Boolean);
}

/** A Go duration (docker's HEALTHCHECK flags) in nanoseconds. */
function duration(text: string, flag: string, line: number): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g, (_m, n: string, u: string) => {
    total += Number(n) * units[u];
    return '';
  });
  if (rest || !text) throw new EngineError('INVALID_CONFIG', `Dockerfile line ${line}: expected HEALTHCHECK --${flag} to be a duration such as 30s or 1m30s, got \`${text}\``);
  return Math.round(total);
}

function healthcheck(step: Step): NonNullable<RuntimeConfig['Healthcheck']> {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(step.args);
  const sub = m?.[1].toUpperCase();
  if (sub === 'NONE') return { Test: ['NONE'] };
  if (sub !== 'CMD' || !m?.[2]) throw new EngineError('INVALID_CONFIG', `Dockerfile line ${step.line}: expected HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE, got \`HEALTHCHECK ${step.args}\``);
  const json = m[2].trimStart().startsWith('[') ? (() => { try { return JSON.parse(m[2]) as string[]; } catch { return undefined; } })() : undefined;
  const h: NonNullable<RuntimeConfig['Healthcheck']> = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', m[2]] };
  const f = step.flags;
  if (f.interval) h.Interval = duration(f.interval, 'interval', step.line);
  if (f.timeout) h.Timeout = duration(f.timeout, 'timeout', step.line);
  if (f['start-period']) h.StartPeriod = duration(f['start-period'], 'start-period', step.line);
  if (f.retries) {
    if (!/^\d+$/.test(f.retries)) throw new EngineError('INVALID_CONFIG', `Dockerfile line ${step.line}: expected HEALTHCHECK --retries to be a whole number, got \`${f.retries}\``);
    h.Retries = Number(f.retries);
  }
  return h;
}

/**
 * Apply a metadata instruction (ENV, ARG, LABEL, CMD, ENTRYPOINT, EXPOSE, VOLUME, USER, STOPSIGNAL,
 * HEALTHCHECK, SHELL, and WORKDIR's setting) to state; buildArgs are the --build-arg values.
 */
export function applyMetadata(step: Step, state: StageState, buildArgs: Record<string, string>): void {
  const vars = varsOf(state);
  const c = state.config;
  switch (step.keyword) {
    case 'ENV': {
      const env = envOf(c);
      for (const [k, v] of step.pairs ?? []) env[k] = expandVars(v ?? '', vars);
      c.Env = Object.entries(env).map(([k, v]) => `${k}=${v}`);
      return;
    }
    case 'ARG':
      for (const [k, v] of step.pairs ?? []) {
        const value = buildArgs[k] ?? (v === undefined ? undefined : expandVars(v, vars));
        if (value !== undefined) state.args[k] = value;
      }
      return;
    case 'LABEL':
      c.Labels = { ...(c.Labels ?? {}) };
      for (const [k, v] of step.pairs ?? []) c.Labels[expandVars(k, vars)] = expandVars(v ?? '', vars);
      return;
    case 'CMD':
      c.Cmd = commandOf(step, c);
      state.cmdSet = true;
      return;
    case 'ENTRYPOINT':
      c.Entrypoint = commandOf(step, c);
      if (!state.cmdSet) c.Cmd = null; // docker: an ENTRYPOINT drops the Cmd the base image had
      return;
    case 'EXPOSE':
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const w of words(step, vars)) {
        if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(w)) throw new EngineError('INVALID_CONFIG', `Dockerfile line ${step.line}: expected EXPOSE PORT[/PROTOCOL], got \`${w}\``);
        c.ExposedPorts[w.includes('/') ? w.toLowerCase() : `${w}/tcp`] = {};
      }
      return;
    case 'VOLUME': {
      const vols = (c as { Volumes?: Record<string, object> | null }).Volumes ?? {};
      for (const v of step.json?.map((s) => expandVars(s, vars)) ?? words(step, vars)) vols[v] = {};
      (c as { Volumes?: Record<string, object> }).Volumes = vols;
      return;
    }
    case 'USER':
      c.User = expandVars(step.args, vars);
      return;
    case 'STOPSIGNAL':
      c.StopSignal = expandVars(step.args, vars);
      return;
    case 'HEALTHCHECK':
      c.Healthcheck = healthcheck(step);
      return;
    case 'SHELL':
      if (!step.json?.length) throw new EngineError('INVALID_CONFIG', `Dockerfile line ${step.line}: SHELL takes the JSON form, e.g. SHELL ["/bin/bash", "-c"]`);
      (c as { Shell?: string[] }).Shell = step.json;
      return;
    case 'WORKDIR':
      c.WorkingDir = workdirOf(step, state);
      return;
    default:
      throw new EngineError('INVALID_STATE', `Dockerfile line ${step.line}: ${step.keyword} is not a metadata instruction`);
  }
}

/** The absolute directory a WORKDIR names (a relative one is below the current WorkingDir). */
export function workdirOf(step: Step, state: StageState): string {
  const dir = expandVars(step.args, varsOf(state));
  return posix.normalize(dir.startsWith('/') ? dir : posix.join(state.config.WorkingDir || '/', dir)).replace(/(.)\/$/, '$1');
}

/** How docker's classic builder records a step in the image history (`created_by`). */
export function createdBy(step: Step, state: StageState, detail?: string): string {
  if (step.keyword === 'RUN') {
    const args = Object.entries(state.args).sort(([a], [b]) => a.localeCompare(b));
    const prefix = args.length ? `|${args.length} ${args.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
    return prefix + (step.json ? step.json.join(' ') : [...shellOf(state.config), step.args].join(' '));
  }
  const nop = `${shellOf(state.config).join(' ')} #(nop) `;
  if (detail !== undefined) return `${nop}${step.keyword} ${detail}`;
  return `${nop} ${step.keyword} ${step.args}`;
}
