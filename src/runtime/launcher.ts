// The shim's fork server (`codex32-shim launcher`, native/launcher.c) for long-lived engines: forking
// this Node process costs milliseconds per start in page tables and copy-on-write faults, all of it on
// the event loop's thread (libuv forks), the launcher's posix_spawn a fraction of one. It spawns the
// shims, and every other command the engine runs (spawn.ts), their stdio on sockets to a server of this
// process. A one-shot CLI spawns directly instead: starting the launcher would cost it one more process.
// The launcher is unref'd and exits when this process does, or once the engines using it are closed.
import { createServer, randomBytes, spawn } from '../lazy.js';
import type { ChildProcess } from 'node:child_process';
import type { Server, Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { ProcRef } from '../state/types.js';
import { enterUserTree } from './cgroup-parent.js';

/** What one shim said on its fd 3 while starting, as the launcher relays it. */
export interface LaunchReport {
  /** the shim, once spawned (its start time read by the launcher, before it could be reaped) */
  onSpawn(shim: ProcRef): void;
  /** each line of its start report */
  onLine(line: string): void;
  /** its report is complete (fd 3 closed) */
  onEnd(): void;
  /** the launcher could not spawn it, or died before its report was complete */
  onLost(): void;
}

/** What the launcher says of one command it spawned (spawn.ts). */
export interface CommandReport {
  /** spawned, with its pid */
  onSpawn(pid: number): void;
  /** the spawn failed with this errno */
  onError(errno: number): void;
  /** it ended: its exit code, or null and the signal's number */
  onExit(code: number | null, signum: number): void;
  /** the launcher died before saying it ended */
  onLost(): void;
  /** one of its fds, connected to this process */
  onStream(fd: number, socket: Socket): void;
  /** whether waiting for it keeps the event loop alive */
  readonly ref: boolean;
}

/** A command for the launcher to spawn: argv, which of fds 0-3 are sockets to this process, its session and environment. */
export interface CommandRequest {
  argv: readonly string[];
  pipes: readonly [boolean, boolean, boolean, boolean];
  detached: boolean;
  env?: NodeJS.ProcessEnv;
}

// %-escaped, so that a field holds any byte but NUL: the launcher splits its lines on spaces
const field = (s: string) => s.replace(/[% \n\r]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

let enabled = true;

/** Choose how shims are launched in this process: through the fork server (the default) or directly. */
export function useLauncher(on: boolean): void {
  enabled = on;
  if (!on) current?.close();
}

/** One running launcher, the launches it has not finished reporting and the commands it has not seen end. */
class Launcher {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, LaunchReport>();
  private readonly commands = new Map<number, CommandReport>();
  /** token of each command whose fds have not all connected yet, and how many have not */
  private readonly tokens = new Map<string, { report: CommandReport; left: number }>();
  /** commands not waited for: no end is reported, they are forgotten once spawned */
  private readonly detached = new Set<number>();
  private readonly server: Server;
  private nextId = 1;
  private buf = '';
  dead = false;

  constructor(bin: string) {
    // abstract: nothing on disk, gone with this process; the random name and each command's token keep
    // other processes from posing as a command's stdio
    const name = `codex32-${process.pid}-${randomBytes(8).toString('hex')}`;
    this.server = createServer((s) => this.accept(s));
    this.server.on('error', () => undefined); // a server that failed to listen fails each command's connect: reported as its spawn error
    this.server.listen(`\0${name}`); // bound and listening on return: the launcher may connect at once
    this.server.unref();
    this.child = spawn(bin, ['launcher', bin, name], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.on('error', () => this.fail());
    this.child.on('exit', () => this.fail());
    const out = this.child.stdout as Readable;
    out.setEncoding('utf8');
    out.on('data', (d: string) => this.read(d));
    (this.child.stdin as Writable).on('error', () => undefined); // its exit is reported through 'exit'
    this.idle();
  }

  /**
   * Ask for a shim supervising runDir; its launch id, or undefined when the launcher is gone (the caller
   * spawns directly). A held shim waits for decide() before it reads anything of runDir.
   */
  launch(runDir: string, report: LaunchReport, held = false): number | undefined {
    if (this.dead || runDir.includes('\n')) return undefined;
    const id = this.nextId++;
    this.pending.set(id, report);
    this.refresh();
    (this.child.stdin as Writable).write(`${id} ${held ? 'H ' : ''}${runDir}\n`);
    return id;
  }

  /** Release a held shim (go) or cancel it: it exits having done nothing, and its report ends empty. */
  decide(id: number, go: boolean): void {
    if (!this.dead) (this.child.stdin as Writable).write(`${id} ${go ? 'G' : 'C'}\n`);
  }

  /** Ask for a command; its id, or undefined when the launcher is gone (the caller spawns directly). */
  command(req: CommandRequest, report: CommandReport): number | undefined {
    if (this.dead || req.argv.some((a) => a.includes('\0'))) return undefined;
    const id = this.nextId++;
    const token = randomBytes(16).toString('hex');
    const env = req.env && Object.entries(req.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    const head = [token, req.pipes.map((p) => (p ? 'p' : 'n')).join(''), req.detached ? 'd' : '-', env ? String(env.length) : '-'];
    this.commands.set(id, report);
    if (req.detached) this.detached.add(id);
    const left = req.pipes.filter(Boolean).length;
    if (left) this.tokens.set(token, { report, left });
    this.refresh();
    (this.child.stdin as Writable).write(`${id} S ${[...head, ...(env ?? []), ...req.argv].map(field).join(' ')}\n`);
    return id;
  }

  /** Send signum to command id, unless the launcher has reaped it already (its pid may be another's now). */
  signal(id: number, signum: number): void {
    if (!this.dead && this.commands.has(id)) (this.child.stdin as Writable).write(`${id} K ${signum}\n`);
  }

  /** Count a command's wait toward keeping the event loop alive, or not, after its ref changed. */
  refresh(): void {
    if (this.pending.size > 0 || [...this.commands.values()].some((c) => c.ref)) this.busy();
    else this.idle();
  }

  /** Stop taking requests: the launcher ends once the commands under way have (and their ends are reported). */
  close(): void {
    this.dead = true;
    (this.child.stdin as Writable).end();
    if (!this.commands.size) this.server.close();
    this.refresh();
  }

  /** A connection from a command's fd: "TOKEN FD\n", then the fd's bytes. */
  private accept(s: Socket): void {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const nl = head.indexOf(10);
      if (nl < 0 && head.length < 128) return;
      s.off('data', onData);
      s.pause();
      const m = nl >= 0 ? /^([0-9a-f]{32}) ([0-3])$/.exec(head.subarray(0, nl).toString('latin1')) : null;
      const t = m && this.tokens.get(m[1]);
      if (!m || !t) return void s.destroy();
      if (--t.left === 0) this.tokens.delete(m[1]);
      if (nl + 1 < head.length) s.unshift(head.subarray(nl + 1));
      t.report.onStream(Number(m[2]), s);
    };
    s.on('data', onData);
    s.on('error', () => undefined); // the command's end of it went away: its stream ends
  }

  private read(d: string): void {
    this.buf += d;
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const m = /^(\d+) ([PXLEW])(?: (.*))?$/.exec(line);
      if (!m) continue;
      const [, id, kind, rest = ''] = m;
      const c = this.commands.get(Number(id));
      if (c) this.commandSaid(Number(id), c, kind, rest);
      const r = this.pending.get(Number(id));
      if (!r) continue;
      if (kind === 'P') {
        const [pid, start] = rest.split(' ');
        r.onSpawn({ pid: Number(pid), start });
      }
      else if (kind === 'L') r.onLine(rest);
      else {
        this.pending.delete(Number(id));
        if (kind === 'E') r.onEnd();
        else r.onLost();
      }
    }
    this.refresh();
  }

  /** One line about a command: spawned (a detached one is then no longer followed), failed, or ended. */
  private commandSaid(id: number, c: CommandReport, kind: string, rest: string): void {
    const [a = '0', b = '0'] = rest.split(' ');
    if (kind === 'P') c.onSpawn(Number(a));
    else if (kind === 'X') c.onError(Number(a));
    else if (kind === 'W') c.onExit(Number(a) < 0 ? null : Number(a), Number(b));
    if (kind === 'X') this.forget(id, c, true);
    if (kind === 'W' || (kind === 'P' && this.detached.has(id))) this.forget(id, c);
  }

  /** No more lines about a command; its fds still connect, unless it never started (then no fd will). */
  private forget(id: number, c: CommandReport, fds = false): void {
    this.commands.delete(id);
    this.detached.delete(id);
    if (fds) for (const [t, r] of this.tokens) if (r.report === c) this.tokens.delete(t);
    if (this.dead && !this.commands.size) this.server.close();
  }

  /** A launcher that died fails what it had not finished: those starts are reported as failed to set up. */
  private fail(): void {
    this.dead = true;
    for (const r of this.pending.values()) r.onLost();
    this.pending.clear();
    for (const [id, c] of this.commands) {
      this.forget(id, c, true);
      c.onLost();
    }
    this.server.close();
    this.idle();
  }

  // While a launch or a command is under way the pipe keeps the event loop alive; between them it does not.
  private busy(): void {
    this.child.ref();
    (this.child.stdout as Readable & { ref(): void }).ref();
  }

  private idle(): void {
    this.child.unref();
    (this.child.stdout as Readable & { unref(): void }).unref();
    (this.child.stdin as Writable & { unref?(): void }).unref?.();
  }
}

let current: Launcher | undefined;

/** The running launcher, started if there is none; undefined when it is off or cannot start. */
function launcherFor(bin: string): Launcher | undefined {
  if (!enabled) return undefined;
  if (!current || current.dead) {
    try {
      enterUserTree(); // rootless: the supervisors it starts must be in the user's tree to place containers
      current = new Launcher(bin);
    } catch {
      return undefined;
    }
  }
  return current;
}

let holders = 0;

/** An engine that uses the launcher: it lives while one is open (or a command is under way). */
export function holdLauncher(): void {
  holders++;
}

/** An engine closed: with no other open, the launcher ends once its commands have. */
export function releaseLauncher(): void {
  holders = Math.max(0, holders - 1);
  if (holders === 0) current?.close();
}

/** A command spawned through the launcher: signal it while it runs; refresh() after its report's ref changed. */
export interface CommandHandle {
  signal(signum: number): void;
  refresh(): void;
}

/** Spawn a command through the launcher; false when it is off or unavailable (spawn directly). */
export function commandThrough(bin: string, req: CommandRequest, report: CommandReport): CommandHandle | false {
  const l = launcherFor(bin);
  const id = l?.command(req, report);
  if (!l || id === undefined) return false;
  return { signal: (signum) => l.signal(id, signum), refresh: () => l.refresh() };
}

/** A shim launched held: go() lets it read its spec and start the container, cancel() ends it unused. */
export interface HeldLaunch {
  go(): void;
  cancel(): void;
}

/**
 * Launch the shim for runDir through the fork server; false when it is off or unavailable (spawn
 * directly). Held, it is spawned now and waits for the handle's go: its exec and start-up overlap
 * the engine's preparation of the run.
 */
export function launchThrough(bin: string, runDir: string, report: LaunchReport, held?: false): boolean;
export function launchThrough(bin: string, runDir: string, report: LaunchReport, held: true): HeldLaunch | false;
export function launchThrough(bin: string, runDir: string, report: LaunchReport, held = false): boolean | HeldLaunch {
  const launcher = launcherFor(bin);
  if (!launcher) return false;
  const id = launcher.launch(runDir, report, held);
  if (id === undefined) return false;
  if (!held) return true;
  return { go: () => launcher.decide(id, true), cancel: () => launcher.decide(id, false) };
}
