// exec: one more command in a running container, with exact output, stdin, a timeout, an AbortSignal,
// a per-exec user, environment and working directory; buffered, streamed or detached.
import { randomBytes } from '../lazy.js';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { EngineError } from '../errors.js';
import { enterUserTree } from '../runtime/cgroup-parent.js';
import { cgroupOomKills } from '../runtime/cgroups.js';
import { spawnProcess, type SpawnedProcess } from '../runtime/spawn.js';
import { shimPath } from '../runtime/supervisor.js';
import type { ContainerRow } from '../state/types.js';
import { recordEvent, type EngineCore } from './core.js';
import { invalidState } from './status.js';
import { imageEtc, resolveUser } from '../images/config.js';
import { imageFor } from '../images/store.js';

export interface ExecOptions {
  /** added to (and overriding) the container's environment; passed on a pipe, never on a command line */
  env?: Record<string, string>;
  /** working directory inside the container */
  workdir?: string;
  /** identity inside the container for this command: ids or "UID[:GID]" */
  user?: { uid: number; gid: number } | string;
  /** what the command reads on stdin; none means /dev/null */
  stdin?: string | Buffer | Readable;
  /** milliseconds: then SIGTERM, and SIGKILL killGraceMs later; the result says timedOut */
  timeout?: number;
  /** aborting sends the same SIGTERM then SIGKILL; the result says aborted */
  signal?: AbortSignal;
  /** grace between SIGTERM and SIGKILL on timeout or abort (default 2000 ms) */
  killGraceMs?: number;
  /** 'utf8' (default) gives exact strings, 'buffer' the raw bytes */
  encoding?: 'utf8' | 'buffer';
  /** 'inherit' hands the command this process's stdio (the CLI); output is then not captured */
  stdio?: 'inherit' | 'pipe';
  /** start it and return at once with its helper's pid; output is discarded */
  detach?: boolean;
  /** docker's -i with stdio 'inherit': the command reads this process's stdin (otherwise /dev/null) */
  interactive?: boolean;
  /** docker's -t: a terminal of its own inside the container, relayed to this process's stdio by the helper */
  tty?: boolean;
}

export interface ExecResult<T extends string | Buffer = string> {
  exitCode: number;
  stdout: T;
  stderr: T;
  timedOut: boolean;
  aborted: boolean;
  /**
   * the kernel's OOM killer ended the command: it died of SIGKILL while the container's memory cgroup
   * counted a new OOM kill (docker keeps State.OOMKilled for the main process alone; this is the exec's)
   */
  oomKilled: boolean;
}

/** A running exec: its streams, and its exit code as a promise. */
export interface ExecProcess {
  /** the exec helper's pid (it forwards TERM, INT and HUP to the command) */
  pid?: number;
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  exitCode: Promise<number>;
  /** SIGTERM (forwarded), or SIGKILL of the command itself */
  kill(signal?: 'SIGTERM' | 'SIGKILL'): void;
  /** with tty: set the terminal's window size (rows, columns) */
  resize(rows: number, cols: number): void;
}

/** The exec user as ids: a string (NAME, UID, NAME:GROUP, UID:GID) is looked up in the container's own /etc files. */
function execUser(core: EngineCore, row: ContainerRow, user: NonNullable<ExecOptions['user']>): { uid: number; gid: number } {
  if (typeof user === 'string') return resolveUser(user, imageEtc(imageFor(core.store, row.config)), 'exec user');
  if (!Number.isInteger(user.uid) || !Number.isInteger(user.gid) || user.uid < 0 || user.gid < 0 || user.uid > 4294967294 || user.gid > 4294967294)
    throw new EngineError('INVALID_CONFIG', `Expected the exec user's ids from 0 to 4294967294, got \`${JSON.stringify(user)}\``);
  return user;
}

/** The shim's exec arguments for options (the environment goes on fd 3). */
function execArgs(row: ContainerRow, dir: string, command: string[], o: ExecOptions & { sizeFile?: string }, withStdin: boolean): string[] {
  const args = ['exec', dir];
  if (o.tty) args.push('-t');
  if (o.tty && o.sizeFile) args.push('-S', o.sizeFile);
  if (withStdin) args.push('-i'); // otherwise the helper gives the command /dev/null
  if (o.env && Object.keys(o.env).length) args.push('-E', '3');
  if (o.user !== undefined) {
    const u = o.user as { uid: number; gid: number }; // resolved by spawnExec
    const own = row.config.user ?? { uid: 0, gid: 0 };
    // minimal runs on the host from the container's directory, which is closed to every other user
    if (row.config.isolation === 'minimal' && !o.workdir && (u.uid !== own.uid || u.gid !== own.gid))
      throw new EngineError('INVALID_CONFIG', `Expected a workdir with an exec user other than the container's at minimal isolation: ${u.uid}:${u.gid} cannot enter the container's directory (closed to other users, see docs/security.md)`);
    args.push('-u', `${u.uid}:${u.gid}`);
  }
  if (o.workdir) args.push('-w', o.workdir);
  return [...args, '--', ...command];
}

/** Spawn the shim's exec for a running container; the environment is written to its fd 3. */
function spawnExec(core: EngineCore, ref: string, command: string[], o: ExecOptions & { sizeFile?: string }, openStdin = false): SpawnedProcess {
  const row = core.get(ref);
  if (row.status !== 'running') throw invalidState(row.name, row.status, 'exec in', 'Start it first.');
  if (row.state.paused) throw new EngineError('INVALID_STATE', `Container ${row.id} is paused, unpause the container before exec`, { context: { container: row.name } });
  if (!command.length) throw new EngineError('INVALID_CONFIG', 'Expected a command to exec, got nothing');
  for (const [k, v] of Object.entries(o.env ?? {}))
    if (!k || k.includes('=') || k.includes('\0') || v.includes('\0')) throw new EngineError('INVALID_CONFIG', `Expected exec environment names without = or NUL and values without NUL, got \`${k}\``);
  const inherit = o.stdio === 'inherit';
  const withStdin = inherit ? !!o.interactive : o.stdin !== undefined || openStdin;
  const user = o.user !== undefined ? execUser(core, row, o.user) : undefined;
  const args = execArgs(row, core.paths(row.id).dir, command, { ...o, user }, withStdin);
  if (row.state.cgroups) enterUserTree(); // rootless: the helper joins the container's cgroup from the user's tree
  const withEnv = args.includes('-E');
  const stdin = !withStdin ? 'ignore' : inherit ? 'inherit' : 'pipe';
  const io = o.detach ? 'ignore' : (o.stdio ?? 'pipe');
  core.store.tx(() => recordEvent(core.store, 'exec', row, { command: command.join(' '), ...(o.detach ? { detach: true } : {}) }));
  const child = spawnProcess(shimPath(), args, { stdio: [stdin, io, io, withEnv ? 'pipe' : 'ignore'], detached: !!o.detach });
  child.on('error', () => undefined); // reported through the exit code promise
  if (withEnv) {
    const fd3 = child.stdio[3] as Writable;
    fd3.on('error', () => undefined); // the helper died before reading: its exit says why
    fd3.end(Buffer.from(Object.entries(o.env!).map(([k, v]) => `${k}=${v}\0`).join('')));
  }
  const input = child.stdin;
  if (input && o.stdin !== undefined) {
    input.on('error', () => undefined); // the command may exit without reading all of it
    if (typeof o.stdin === 'string' || Buffer.isBuffer(o.stdin)) input.end(o.stdin);
    else o.stdin.pipe(input);
  }
  return child;
}

/** SIGTERM now (forwarded to the command), SIGKILL of the command graceMs later if it still runs. */
function terminate(child: SpawnedProcess, graceMs: number): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGUSR2'), graceMs);
  t.unref();
  child.once('exit', () => clearTimeout(t));
}

/**
 * The exit code a shell would give: the code, or 128 + the signal number. Normally once the output is
 * closed; after a timeout or an abort (ended() is true) at most settleMs after the helper has exited, its
 * pipes dropped: something the command started in a session of its own may hold them open for ever.
 */
function exitPromise(child: SpawnedProcess, ended: () => boolean = () => false, settleMs = 500): Promise<number> {
  return new Promise((resolve, reject) => {
    const code = (c: number | null, sig: NodeJS.Signals | null) => c ?? 128 + (sig ? (osSignals[sig] ?? 9) : 9);
    child.once('error', (cause: Error) => reject(new EngineError('RUNTIME_FAILED', `Cannot run the exec helper: ${cause.message}`, { cause })));
    child.once('close', (c: number | null, sig: NodeJS.Signals | null) => resolve(code(c, sig)));
    child.once('exit', (c: number | null, sig: NodeJS.Signals | null) => {
      if (!ended()) return;
      setTimeout(() => {
        for (const s of [child.stdout, child.stderr]) s?.destroy();
        resolve(code(c, sig));
      }, settleMs).unref();
    });
  });
}
const osSignals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGUSR2: 12, SIGTERM: 15 };

/** Run a command in the container and collect its output exactly (bytes or an exact string). */
export async function execIn(core: EngineCore, ref: string, command: string[], o: ExecOptions = {}): Promise<ExecResult<string | Buffer>> {
  const cgroups = core.get(ref).state.cgroups;
  const oomBefore = cgroupOomKills(cgroups) ?? 0;
  const child = spawnExec(core, ref, command, o);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  let timedOut = false;
  let aborted = false;
  const grace = o.killGraceMs ?? 2000;
  const timer = o.timeout !== undefined ? setTimeout(() => ((timedOut = true), terminate(child, grace)), o.timeout) : undefined;
  const onAbort = () => ((aborted = true), terminate(child, grace));
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exitCode = await exitPromise(child, () => timedOut || aborted);
    const enc = (b: Buffer[]) => (o.encoding === 'buffer' ? Buffer.concat(b) : Buffer.concat(b).toString('utf8'));
    const oomKilled = exitCode === 137 && (cgroupOomKills(cgroups) ?? 0) > oomBefore;
    return { exitCode, stdout: enc(out), stderr: enc(err), timedOut, aborted, oomKilled };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** Start a command in the container and return once it is spawned: the helper runs on, detached, output discarded. */
export async function execDetached(core: EngineCore, ref: string, command: string[], o: ExecOptions = {}): Promise<{ pid: number }> {
  const child = spawnExec(core, ref, command, { ...o, detach: true, stdin: undefined });
  child.unref();
  // a child of this process has its pid at once; one the launcher spawned, once it says so
  const pid =
    child.pid ??
    (await new Promise<number | undefined>((resolve) => {
      child.once('spawn', () => resolve(child.pid));
      child.once('error', () => resolve(undefined));
    }));
  if (!pid) throw new EngineError('RUNTIME_FAILED', 'Cannot start the exec helper');
  return { pid };
}

/** Start a command in the container with its stdin, stdout and stderr as streams. */
export function execStream(core: EngineCore, ref: string, command: string[], o: Omit<ExecOptions, 'encoding' | 'stdio' | 'detach'> = {}): ExecProcess {
  // a terminal relayed over pipes has no window of its own: its size is written here, then SIGWINCH
  const sizeFile = o.tty ? join(core.paths(core.get(ref).id).dir, `exec-${randomBytes(6).toString('hex')}.size`) : undefined;
  if (sizeFile) writeFileSync(sizeFile, '24 80\n', { mode: 0o600 });
  const child = spawnExec(core, ref, command, { ...o, stdio: 'pipe', sizeFile }, true);
  if (sizeFile) child.once('close', () => rmSync(sizeFile, { force: true }));
  if (o.timeout !== undefined) {
    const t = setTimeout(() => terminate(child, o.killGraceMs ?? 2000), o.timeout);
    child.once('exit', () => clearTimeout(t));
  }
  o.signal?.addEventListener('abort', () => terminate(child, o.killGraceMs ?? 2000), { once: true });
  return {
    get pid() {
      return child.pid; // known once spawned: at once for a child of this process, a moment later through the launcher
    },
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exitCode: exitPromise(child),
    kill: (signal = 'SIGTERM') => (signal === 'SIGKILL' ? child.kill('SIGUSR2') : child.kill('SIGTERM')),
    resize: (rows, cols) => {
      if (!sizeFile || child.exitCode !== null || !Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) return;
      writeFileSync(sizeFile, `${Math.min(rows, 65535)} ${Math.min(cols, 65535)}\n`);
      child.kill('SIGWINCH');
    },
  };
}
