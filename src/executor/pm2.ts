// PM2 ecosystem apps → codex32 bot definitions, with PM2's defaults. A field codex32 cannot honour is
// refused with the reason; every problem of every app is collected so one run reports them all.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { parseEnvFile, parseSize } from '../config/parse.js';
import { botIssues, type BotInput } from './bot.js';
import { onPath } from './pincommand.js';

type App = Record<string, unknown>;
export interface Pm2Result {
  bots: BotInput[];
  issues: string[];
}

/** PM2 field aliases → the name this translation reads. */
const ALIASES: Record<string, string> = {
  exec: 'script', exec_interpreter: 'interpreter', interpreter_args: 'node_args', interpreterArgs: 'node_args',
  out: 'out_file', output: 'out_file', out_log: 'out_file', error: 'error_file', err: 'error_file', err_file: 'error_file',
  err_log: 'error_file', cron: 'cron_restart', combine_logs: 'merge_logs',
};

/** Fields that only switch off a PM2 feature codex32 does not have: accepted with that value only. */
const OFF_ONLY: Record<string, unknown> = {
  vizion: false, pmx: false, automation: false, source_map_support: false, disable_source_map_support: true, trace: false,
  disable_trace: true, v8: false, event_loop_inspector: false, deep_monitoring: false, treekill: true, force: false, wait_ready: false,
  shutdown_with_message: false, append_env_to_name: false, disable_logs: false,
};

/** Fields refused, with why. */
const REFUSED: Record<string, string> = {
  pid_file: 'the pid is shown by `codex32 bot ls`; no pid file is written',
  log_file: 'use out_file and error_file; `codex32 bot logs NAME` shows both streams merged',
  log_type: 'logs are stored as records; `codex32 bot logs` prints them as text',
  name_prefix: 'give the full name',
  filter_env: 'a bot never inherits codex32\'s environment: it gets its env, PATH and HOME only',
  uid: 'run the bot as a CUSTOM_CONTAINER with isolation strict for an unprivileged user',
  user: 'run the bot as a CUSTOM_CONTAINER with isolation strict for an unprivileged user',
  gid: 'run the bot as a CUSTOM_CONTAINER with isolation strict for an unprivileged user',
  username: 'run the bot as a CUSTOM_CONTAINER with isolation strict for an unprivileged user',
  watch_options: 'chokidar options do not apply: watch and ignore_watch are honoured',
  post_update: 'codex32 does not pull code; edit the files and `codex32 bot restart NAME`',
  install_url: 'codex32 does not install modules',
  io: 'PM2 Plus monitoring is not part of codex32',
  kill_retry_time: 'codex32 sends the stop signal once, then SIGKILL after kill_timeout',
  execute_command: 'give the command as script and args',
  write: 'not a codex32 setting',
};

const KNOWN = new Set([
  'name', 'script', 'cwd', 'args', 'interpreter', 'node_args', 'env', 'env_file', 'autorestart', 'max_restarts', 'min_uptime',
  'restart_delay', 'exp_backoff_restart_delay', 'max_memory_restart', 'kill_timeout', 'cron_restart', 'watch', 'ignore_watch',
  'watch_delay', 'instances', 'exec_mode', 'increment_var', 'instance_var', 'out_file', 'error_file', 'log_date_format', 'time',
  'merge_logs', 'port', 'listen_timeout', 'autostart', 'stop_exit_codes', 'windowsHide', 'deployment', 'namespace', 'max_size', 'retain',
]);

const PM2_DATE = 'YYYY-MM-DDTHH:mm:ss';

/** PM2's duration form: a number of ms, or N followed by h, m or s. Returns seconds. */
function pm2Duration(v: unknown): number | undefined {
  if (typeof v === 'number' && v >= 0) return v / 1000;
  const m = typeof v === 'string' ? /^(\d+)(h|m|s|ms)?$/.exec(v.trim()) : null;
  if (!m) return undefined;
  return Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[(m[2] ?? 'ms') as 'h' | 'm' | 's' | 'ms'];
}

/** split PM2's string args the way a shell would split simple words and quotes */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) out.push(m[1]?.replace(/\\(.)/g, '$1') ?? m[2] ?? m[3]);
  return out;
}

const INTERPRETER_BY_EXT: Record<string, string> = { '.js': 'node', '.cjs': 'node', '.mjs': 'node', '.py': 'python3', '.sh': 'bash', '.rb': 'ruby', '.pl': 'perl', '.php': 'php' };

/** Translate PM2 apps (from the file at baseDir) into bot definitions for the environment `envName`. */
export function fromPm2(apps: unknown[], baseDir: string, envName?: string): Pm2Result {
  const bots: BotInput[] = [];
  const issues: string[] = [];
  apps.forEach((raw, i) => {
    const label = typeof (raw as App | null)?.name === 'string' ? `bot ${(raw as App).name}` : `apps[${i}]`;
    const problems: string[] = [];
    const bad = (field: string, msg: string) => problems.push(`${label}: ${field}: ${msg}`);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return void issues.push(`${label}: Expected an object with at least \`script\``);
    const app: App = {};
    for (const [k, v] of Object.entries(raw as App)) app[ALIASES[k] ?? k] = v;
    const out = translate(app, baseDir, envName, bad);
    // the checks of the bot itself (a cron pattern, a size) in the same pass: the copies of `instances` share them
    if (out.length) problems.push(...botIssues(out[0]));
    issues.push(...problems);
    if (!problems.length) bots.push(...out);
  });
  // PM2 falls back to env without a word; a misspelt environment would then run with the wrong settings
  if (envName && !apps.some((a) => a && typeof a === 'object' && `env_${envName}` in a))
    issues.push(`--env ${envName}: no app has env_${envName}; the environments given are ${[...new Set(apps.flatMap((a) => Object.keys((a as App | null) ?? {}).filter((k) => /^env_./.test(k) && k !== 'env_file')))].join(', ') || 'none'}`);
  return { bots, issues };
}

function translate(app: App, baseDir: string, envName: string | undefined, bad: (field: string, msg: string) => void): BotInput[] {
  for (const k of Object.keys(app)) {
    if (k in REFUSED) bad(k, `not supported: ${REFUSED[k]}`);
    else if (k in OFF_ONLY) {
      if (app[k] === OFF_ONLY[k]) continue;
      if (k === 'wait_ready') bad(k, "only `false` is supported: process.send('ready') does not cross into a container; in cluster mode `codex32 bot reload` waits for the new instance's port to accept connections (listen_timeout)");
      else bad(k, `only \`${String(OFF_ONLY[k])}\` is supported: codex32 has no such PM2 feature`);
    } else if (!KNOWN.has(k) && !/^env_\S+$/.test(k)) bad(k, 'not a PM2 field codex32 knows; remove it or check its spelling');
  }
  if (typeof app.script !== 'string' || !app.script) return void bad('script', 'Expected the path of the script to run'), [];
  // the bot runs in `cwd`, else in the ecosystem file's directory (PM2 runs it where `pm2 start` was typed,
  // which is that directory when the file is started from its project as PM2's docs show)
  const cwd = resolve(baseDir, typeof app.cwd === 'string' ? app.cwd : '.');
  let script = resolve(cwd, app.script);
  const name = typeof app.name === 'string' ? app.name : basename(app.script, extname(app.script));
  const env = envOf(app, cwd, envName, bad);
  // PM2 runs a script that is no file but a command on PATH (`npm`, `yarn`, `pnpm`...) as that program
  const program = !existsSync(script) && !app.script.includes('/') && app.interpreter === undefined ? onPath(app.script, env.PATH ?? process.env.PATH ?? '') : undefined;
  if (program) script = program;
  else if (!existsSync(script)) bad('script', `Expected an existing file, or a command on PATH such as npm, got \`${script}\``);
  const cluster = app.exec_mode !== undefined && /^cluster(_mode)?$/.test(String(app.exec_mode));
  // cluster mode's instances each need a private address to listen on the one port: containers, not host processes
  const deployment = { type: cluster ? 'CUSTOM_CONTAINER' : 'LOCAL_PROCESS', ...(cluster ? { isolation: 'standard' } : {}), ...((app.deployment as object) ?? {}) } as Record<string, unknown>;
  Object.assign(deployment, restartOf(app, bad));
  if (app.kill_timeout !== undefined) {
    if (typeof app.kill_timeout !== 'number' || app.kill_timeout < 0) bad('kill_timeout', `Expected milliseconds such as 5000, got \`${String(app.kill_timeout)}\``);
    else deployment.stop_timeout = app.kill_timeout / 1000;
  } else deployment.stop_timeout ??= 1.6; // PM2's default kill_timeout
  deployment.stop_signal ??= 'SIGINT'; // PM2 stops with SIGINT
  if (app.max_memory_restart !== undefined) {
    try {
      deployment.memory_restart = typeof app.max_memory_restart === 'number' ? app.max_memory_restart : parseSize('`max_memory_restart`', String(app.max_memory_restart));
    } catch (e) {
      bad('max_memory_restart', (e as Error).message);
    }
  }
  if (app.cron_restart !== undefined && app.cron_restart !== 0 && app.cron_restart !== '0') deployment.cron_restart = app.cron_restart;
  if (app.exec_mode !== undefined && !cluster && !/^fork(_mode)?$/.test(String(app.exec_mode)))
    bad('exec_mode', `Expected fork or cluster, got \`${String(app.exec_mode)}\``);
  if (app.port !== undefined) env.PORT = String(app.port);
  if (cluster && !/^\d+$/.test(env.PORT ?? '')) bad('port', 'Expected the port every instance listens on (`port`, or PORT in env) in cluster mode: 127.0.0.1:PORT is balanced over the instances');
  if (cluster && app.increment_var !== undefined) bad('increment_var', 'not supported in cluster mode: every instance listens on the same PORT');
  const listenTimeout = app.listen_timeout === undefined ? undefined : pm2Duration(app.listen_timeout);
  if (app.listen_timeout !== undefined && !cluster) bad('listen_timeout', 'only in cluster mode, where `codex32 bot reload` waits for a new instance to accept connections; a fork-mode reload is a restart');
  else if (app.listen_timeout !== undefined && !listenTimeout) bad('listen_timeout', `Expected milliseconds such as 8000, got \`${String(app.listen_timeout)}\``);
  if (app.stop_exit_codes !== undefined) bad('stop_exit_codes', 'not supported: use `autorestart: false` or a codex32 `deployment.restart` such as on-failure');

  const interp = program ? 'none' : typeof app.interpreter === 'string' ? app.interpreter : undefined;
  const nodeArgs = Array.isArray(app.node_args) ? app.node_args.map(String) : typeof app.node_args === 'string' ? splitArgs(app.node_args) : [];
  const args = Array.isArray(app.args) ? app.args.map(String) : typeof app.args === 'string' ? splitArgs(app.args) : [];
  // the bot's directory: the script itself when it is a directory; else for a host process cwd (the script
  // may lie anywhere), for a container what it gets as /app: cwd when given, else the script's directory
  const isDir = existsSync(script) && statSync(script).isDirectory();
  const type = (deployment.type as string | undefined) ?? 'LOCAL_PROCESS';
  const home = isDir ? script : type === 'LOCAL_PROCESS' || program || typeof app.cwd === 'string' ? cwd : dirname(script);
  const rel = relative(home, script) || '.';
  const outside = isAbsolute(rel) || rel.startsWith('..');
  const interpreter = interp === 'none' ? undefined : interp ?? INTERPRETER_BY_EXT[extname(script)] ?? (hasShebang(script) ? undefined : 'node');
  if (outside && !program && type !== 'LOCAL_PROCESS') bad('script', `Expected the script inside cwd (${home}): a ${type} bot gets that directory only, got \`${script}\``);
  const command = [...(interpreter ? [interpreter, ...nodeArgs] : []), rel === '.' || outside ? script : `./${rel}`.replace(/^\.\/\.\//, './'), ...args];

  const watch = app.watch === undefined ? false : app.watch === true || app.watch === false ? app.watch : ([] as unknown[]).concat(app.watch).map(String);
  const ignore = app.ignore_watch === undefined ? [] : ([] as unknown[]).concat(app.ignore_watch).map(String);
  const copies = app.out_file !== undefined || app.error_file !== undefined;
  const logFormat = !copies ? undefined : typeof app.log_date_format === 'string' ? app.log_date_format : app.time === true ? PM2_DATE : undefined;
  if (!copies && (typeof app.log_date_format === 'string' || app.time === true))
    bad(app.log_date_format !== undefined ? 'log_date_format' : 'time', 'only with out_file or error_file: codex32 keeps its own log with the time of every line (`codex32 bot logs -t NAME` shows it); add out_file for a copy in this format, or remove the field');
  const base: BotInput = {
    name, script: home, args: command, env, deployment: deployment as BotInput['deployment'],
    watch: watch as boolean | string[], watch_ignore: ignore,
    ...(app.watch_delay !== undefined ? { watch_delay: Number(app.watch_delay) / 1000 } : {}),
    ...(logFormat ? { log_date_format: logFormat } : {}),
    ...(app.autostart === false ? { autostart: false } : {}),
    ...(app.namespace !== undefined ? { namespace: app.namespace as string } : {}),
    ...sizeOf(app, bad),
    ...(app.retain !== undefined ? { retain: app.retain as number } : {}),
  };
  const group = instancesOf(app, base, cwd, bad);
  if (!cluster) return group;
  const port = Number(env.PORT);
  return group.map((b) => ({ ...b, cluster: { port, ...(listenTimeout ? { listen_timeout: listenTimeout } : {}) } }));
}

/** max_size in PM2's (pm2-logrotate's) form: bytes, or a size such as 10M. */
function sizeOf(app: App, bad: (field: string, msg: string) => void): { max_size?: number } {
  if (app.max_size === undefined) return {};
  try {
    return { max_size: typeof app.max_size === 'number' ? app.max_size : parseSize('`max_size`', String(app.max_size)) };
  } catch (e) {
    bad('max_size', (e as Error).message);
    return {};
  }
}

function hasShebang(file: string): boolean {
  try {
    return readFileSync(file, 'latin1').startsWith('#!');
  } catch {
    return false;
  }
}

/** env, then env_<name> over it for --env name, then env_file; values become strings. */
function envOf(app: App, cwd: string, envName: string | undefined, bad: (field: string, msg: string) => void): Record<string, string> {
  const env: Record<string, string> = {};
  const merge = (field: string, v: unknown) => {
    if (v === undefined) return;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(field, 'Expected an object of NAME: value');
    for (const [k, x] of Object.entries(v)) {
      if (x === null || x === undefined) continue;
      if (typeof x === 'object') bad(`${field}.${k}`, `Expected a string, number or boolean, got an ${Array.isArray(x) ? 'array' : 'object'}`);
      else env[k] = String(x);
    }
  };
  if (app.env_file !== undefined) {
    const file = resolve(cwd, String(app.env_file));
    try {
      for (const [k, v] of parseEnvFile(readFileSync(file, 'utf8'))) env[k] = v;
    } catch (e) {
      bad('env_file', (e as NodeJS.ErrnoException).code ? `Expected a readable file, got \`${file}\`` : (e as Error).message);
    }
  }
  merge('env', app.env);
  if (envName) merge(`env_${envName}`, app[`env_${envName}`]);
  return env;
}

/** autorestart, max_restarts/min_uptime, restart_delay, exp_backoff_restart_delay with PM2's defaults. */
function restartOf(app: App, bad: (field: string, msg: string) => void): Record<string, unknown> {
  const d = (app.deployment ?? {}) as Record<string, unknown>;
  if (d.restart !== undefined) return {}; // a codex32 policy given explicitly wins
  if (app.autorestart === false || app.max_restarts === 0) return { restart: 'no' }; // PM2: 0 restarts means none
  const out: Record<string, unknown> = { restart: 'unless-stopped' };
  const maxRestarts = app.max_restarts ?? 16;
  if (typeof maxRestarts !== 'number' || !Number.isInteger(maxRestarts) || maxRestarts < 0) bad('max_restarts', `Expected a whole number, got \`${String(maxRestarts)}\``);
  else out.max_restarts = maxRestarts;
  const minUptime = pm2Duration(app.min_uptime ?? 1000);
  if (minUptime === undefined) bad('min_uptime', `Expected milliseconds, or a number followed by h, m or s, got \`${String(app.min_uptime)}\``);
  else out.min_uptime = minUptime;
  if (app.exp_backoff_restart_delay !== undefined) {
    const v = pm2Duration(app.exp_backoff_restart_delay);
    if (!v) bad('exp_backoff_restart_delay', `Expected milliseconds such as 100, got \`${String(app.exp_backoff_restart_delay)}\``);
    else Object.assign(out, { restart_delay: v, backoff_max: 15 }); // PM2 doubles up to 15 s
  } else if (app.restart_delay !== undefined) {
    const v = pm2Duration(app.restart_delay);
    if (v === undefined) bad('restart_delay', `Expected milliseconds such as 4000, got \`${String(app.restart_delay)}\``);
    else Object.assign(out, { restart_delay: v, backoff_max: v }); // a fixed delay
  } else Object.assign(out, { restart_delay: 0, backoff_max: 0 }); // PM2 restarts at once
  return out;
}

/** instances: N copies named NAME-i, each with PORT+i (increment_var) and NODE_APP_INSTANCE=i (instance_var). */
function instancesOf(app: App, base: BotInput, cwd: string, bad: (field: string, msg: string) => void): BotInput[] {
  const files = (i?: number) => {
    const f: Partial<BotInput> = {};
    for (const k of ['out_file', 'error_file'] as const) {
      if (app[k] === undefined) continue;
      if (typeof app[k] !== 'string') {
        bad(k, 'Expected a file path (PM2\'s /dev/null form is not needed: codex32 keeps its own log)');
        continue;
      }
      let p = resolve(cwd, app[k] as string);
      if (i !== undefined && app.merge_logs !== true) p = p.replace(/(\.[^./]*)?$/, `-${i}$1`); // PM2's per-instance file names
      f[k] = p;
    }
    return f;
  };
  const raw = app.instances ?? 1;
  const n = raw === 'max' || raw === 0 || raw === -1 ? availableParallelism() : typeof raw === 'number' && raw < -1 ? availableParallelism() + raw : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    bad('instances', `Expected a whole number, 0, -1 or "max", got \`${String(raw)}\``);
    return [];
  }
  // a group (instances given, even 1) scales by whole instances: NAME-0 stays NAME-0 from 2 to 1 and back
  if (app.instances === undefined) return [{ ...base, ...files() }];
  const incVar = typeof app.increment_var === 'string' ? app.increment_var : 'PORT';
  const instVar = typeof app.instance_var === 'string' ? app.instance_var : 'NODE_APP_INSTANCE';
  const start = base.env?.[incVar] !== undefined && !/^cluster/.test(String(app.exec_mode)) ? Number(base.env[incVar]) : undefined;
  if (start !== undefined && !Number.isInteger(start)) bad(incVar, `Expected a whole number to count from for each instance, got \`${base.env![incVar]}\``);
  return Array.from({ length: n }, (_, i) => ({
    ...base,
    ...files(i),
    name: `${base.name}-${i}`,
    instance_of: base.name,
    env: { ...base.env, [instVar]: String(i), ...(start !== undefined ? { [incVar]: String(start + i) } : {}) },
  }));
}

