// The shim's fork server (`codex32-shim launcher`, native/launcher.c) for long-lived engines: forking
// this Node process costs milliseconds per start in page tables and copy-on-write faults, the launcher's
// posix_spawn a fraction of one. A one-shot CLI launches its single shim directly instead: starting the
// launcher would cost it one more process. The launcher is unref'd and exits when this process does.
import { spawn } from '../lazy.js';
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ProcRef } from '../state/types.js';

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

let enabled = true;

/** Choose how shims are launched in this process: through the fork server (the default) or directly. */
export function useLauncher(on: boolean): void {
  enabled = on;
  if (!on) current?.close();
}

/** One running launcher and the launches it has not finished reporting. */
class Launcher {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, LaunchReport>();
  private nextId = 1;
  private buf = '';
  dead = false;

  constructor(bin: string) {
    this.child = spawn(bin, ['launcher', bin], { stdio: ['pipe', 'pipe', 'ignore'] });
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
    this.busy();
    (this.child.stdin as Writable).write(`${id} ${held ? 'H ' : ''}${runDir}\n`);
    return id;
  }

  /** Release a held shim (go) or cancel it: it exits having done nothing, and its report ends empty. */
  decide(id: number, go: boolean): void {
    if (!this.dead) (this.child.stdin as Writable).write(`${id} ${go ? 'G' : 'C'}\n`);
  }

  close(): void {
    this.dead = true;
    (this.child.stdin as Writable).end();
    this.idle();
  }

  private read(d: string): void {
    this.buf += d;
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const m = /^(\d+) ([PXLE])(?: (.*))?$/.exec(line);
      const r = m && this.pending.get(Number(m[1]));
      if (!m || !r) continue;
      const [, id, kind, rest = ''] = m;
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
    if (this.pending.size === 0) this.idle();
  }

  /** A launcher that died fails what it had not finished: those starts are reported as failed to set up. */
  private fail(): void {
    this.dead = true;
    for (const r of this.pending.values()) r.onLost();
    this.pending.clear();
    this.idle();
  }

  // While a launch is under way the pipe keeps the event loop alive; between launches it does not.
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
  if (!enabled) return false;
  if (!current || current.dead) {
    try {
      current = new Launcher(bin);
    } catch {
      return false;
    }
  }
  const launcher = current;
  const id = launcher.launch(runDir, report, held);
  if (id === undefined) return false;
  if (!held) return true;
  return { go: () => launcher.decide(id, true), cancel: () => launcher.decide(id, false) };
}
