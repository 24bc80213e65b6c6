// Integration test helpers: the real CLI, a private storage directory per test file, honest skips.
import { execa, type Options, type Result } from 'execa';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { AdaptiveExecutor } from '../src/executor/adaptive.js';
import { CONTAINERS, describeV2Parent } from '../src/runtime/cgroup-parent.js';
import { probeHost } from '../src/runtime/probe.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'codex32');
export const host = probeHost();
/** How much slower than this machine the tests run (CODEX32_TEST_SLOWDOWN: the guest pass under TCG sets it); waits scale by it */
export const SLOWDOWN = Math.max(1, Number(process.env.CODEX32_TEST_SLOWDOWN) || 1);

/**
 * Why a test cannot run here, or undefined when it can. In CI (CI=true) nothing is skipped:
 * a test whose host feature is missing runs and fails, so no coverage silently disappears.
 */
export function missing(need: { standard?: boolean; strict?: boolean; cgroup?: Array<'memory' | 'pids' | 'cpu'> }): string | undefined {
  if (process.env.CI === 'true') return undefined;
  if (need.standard && !host.levels.standard.supported) return `standard isolation unsupported: ${host.levels.standard.missing.join('; ')}`;
  if (need.strict && !host.levels.strict.supported) return `strict isolation unsupported: ${host.levels.strict.missing.join('; ')}`;
  for (const c of need.cgroup ?? []) if (!host.cgroup.controllers[c]) return `no usable ${c} cgroup controller`;
  return undefined;
}

/** A private storage directory and a CLI bound to it; clean() removes every container and the dir. */
export function sandbox(prefix = 'c32-test-') {
  const storage = mkdtempSync(join(tmpdir(), prefix));
  const env = { CONTAINER_STORAGE_DIR: storage, LOG_LEVEL: 'silent', CONTAINER_ISOLATION_LEVEL: 'standard' };
  const cli = (args: string[], opts: Options = {}): Promise<Result> =>
    execa('node', [BIN, ...args], { reject: false, env, stripFinalNewline: true, timeout: 120_000 * SLOWDOWN, ...opts }) as Promise<Result>;
  const json = async <T = unknown>(args: string[]): Promise<T> => {
    const r = await cli(args);
    if (r.exitCode !== 0) throw new Error(`codex32 ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
    return JSON.parse(String(r.stdout)) as T;
  };
  const inspect = async (ref: string) => (await json<Array<Record<string, any>>>(['inspect', ref]))[0];
  const clean = async () => {
    const r = await cli(['ps', '-aq']);
    const ids = String(r.stdout).split('\n').filter(Boolean);
    if (ids.length) await cli(['rm', '-f', ...ids]);
    // an auto-removal's exit command (a CLI of its own, detached) may still be finishing in the directory:
    // ENOTEMPTY until it ends, which under the suite's load can take seconds
    await until(() => {
      try {
        rmSync(storage, { recursive: true, force: true });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw e;
        return false;
      }
    }, 60_000, 250);
  };
  return { storage, env, cli, json, inspect, clean };
}

/** Pids of live processes whose command line contains marker. */
export function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
      if (cmd.includes(marker) && state !== 'Z') out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Poll fn until it returns a truthy value or the time runs out. The default is generous on purpose:
 * a passing test returns as soon as the condition holds, and a loaded machine must not fail it.
 */
export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 30_000, stepMs = 50): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs * SLOWDOWN;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs * SLOWDOWN} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * A container's cgroup directory for a controller: on v1 the controller's (or the freezer's)
 * hierarchy/codex32/ID; on v2 the one unified directory, in the subtree delegated to codex32 (under
 * systemd a unit's, not the root's codex32).
 */
export function cgroupDir(id: string, controller: 'memory' | 'pids' | 'cpu' | 'freezer' = 'memory'): string {
  if (host.cgroup.version !== 'v2') return `${controller === 'freezer' ? host.cgroup.freezer : host.cgroup.controllers[controller]}/codex32/${id}`;
  const p = describeV2Parent();
  return p.delegated ? `${host.cgroup.unified}${p.delegated}/${CONTAINERS}/${id}` : `${host.cgroup.unified}/codex32/${id}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start measuring the host's idle CPUs; the returned function gives how many CPUs were idle on average
 * since (from /proc/stat, in USER_HZ ticks). A test that expects a process to get some CPU asserts it
 * only when the host had that much to give: on a loaded machine nothing can promise it.
 */
export function idleMeter(): () => number {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3] + f[4], at: Date.now() };
  };
  const start = read();
  return () => {
    const end = read();
    return (end.idle - start.idle) / 100 / ((end.at - start.at) / 1000);
  };
}

/**
 * A library engine (minimal by default) and a bot executor on a private storage directory; every bot is
 * removed after the file's tests. logsOf reads a bot's whole log as text.
 */
export function botSandbox(prefix: string, isolation: 'minimal' | 'standard' | 'strict' = 'minimal') {
  const storage = mkdtempSync(join(tmpdir(), prefix));
  const engine = new ContainerEngine({ storageDir: storage, isolation });
  const ex = new AdaptiveExecutor(engine);
  afterAll(async () => {
    for (const b of ex.list()) await ex.remove(b.name).catch(() => undefined);
    engine.close();
    rmSync(storage, { recursive: true, force: true });
  });
  const logsOf = async (name: string) => {
    let out = '';
    for await (const r of ex.logs(name)) out += r.data.toString() + (r.full ? '\n' : '');
    return out;
  };
  return { storage, engine, ex, logsOf };
}
