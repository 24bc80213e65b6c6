// Observation: inspect, logs and stats of containers, read through the engine so state stays true.
import { idRangeOf } from '../state/idranges.js';
import { readFileSync } from 'node:fs';
import { imageFor } from '../images/store.js';
import { readLogChunks, readLogs, type LogChunk, type LogOptions, type LogRecord } from '../monitor/logs.js';
import { sampleStats, type StatsSample } from '../monitor/stats.js';
import { RUN_FILES } from '../runtime/contract.js';
import { resolveArgv } from '../runtime/plan.js';
import { readShimEvents } from '../runtime/supervisor.js';
import type { EngineCore } from './core.js';
import { toInspect, type InspectResult } from './inspect.js';
import { listContainers, reviveLost } from './policy.js';
import { isActive } from './status.js';

export { cpuPercent, type StatsSample } from '../monitor/stats.js';

/** docker-shaped description of a container. */
export async function inspectContainer(core: EngineCore, ref: string): Promise<InspectResult> {
  const row = await reviveLost(core, core.get(ref));
  const paths = core.paths(row.id);
  let argv: string[] = row.config.command;
  try {
    argv = resolveArgv(row, imageFor(core.store, row.config), paths);
  } catch {
    /* image gone: show the command as configured */
  }
  return toInspect(row, paths, argv, core.store.listRuns(row.id), readHealthLog(paths.dir), idRangeOf(core.store, row.id));
}

/** Log records of a container; follow ends when the container stops. */
export function containerLogs(core: EngineCore, ref: string, options: LogOptions = {}): AsyncGenerator<LogRecord> {
  const { log, done } = logSource(core, ref, options);
  return readLogs(log, { ...options, done });
}

/** A container's log as raw records, a file's worth at a time (see readLogChunks); follow ends when it stops. */
export function containerLogChunks(core: EngineCore, ref: string, options: Pick<LogOptions, 'follow' | 'done' | 'signal'> = {}): AsyncGenerator<LogChunk> {
  const { log, done } = logSource(core, ref, options);
  return readLogChunks(log, { ...options, done });
}

function logSource(core: EngineCore, ref: string, options: LogOptions): { log: string; done: () => boolean } {
  const row = core.get(ref);
  const paths = core.paths(row.id);
  // an auto-remove container's row may go as soon as it has ended: the descriptors held still read its log
  const done = options.done ?? (() => {
    const cur = core.store.getContainer(row.id);
    return !cur || !isActive(core.reconcile(cur).status);
  });
  return { log: paths.log, done: options.follow ? throttle(done, 50) : done };
}

/**
 * What went wrong with the container's log in its last run, from the supervisor's events: each
 * failure to open or write it ("TIME cannot write …: No space left on device") and each recovery, so
 * a reader knows the log it got is incomplete.
 */
export function containerLogProblems(core: EngineCore, ref: string): string[] {
  const paths = core.paths(core.get(ref).id);
  return readShimEvents(paths.dir)
    .filter((e) => e.type === 'log_error' || e.type === 'log_resumed')
    .map((e) => `${new Date(e.time).toISOString()} ${e.type === 'log_resumed' ? `log written again: ${e.value}` : e.value}`);
}

/** One usage sample of the given running containers (all running ones when none are named). */
export async function containerStats(core: EngineCore, refs?: string[]): Promise<StatsSample[]> {
  const rows = refs ? refs.map((r) => core.get(r)) : await listContainers(core);
  return sampleStats(rows.filter((r) => r.status === 'running'));
}

/** The supervisor's last five health check results. */
function readHealthLog(dir: string): Array<{ Start: string; ExitCode: number; Output: string }> {
  try {
    return readFileSync(`${dir}/${RUN_FILES.health}`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [at, code, ...out] = l.split(' ');
        return { Start: new Date(Number(at)).toISOString(), ExitCode: Number(code), Output: out.join(' ') };
      });
  } catch {
    return [];
  }
}

/** fn, evaluated at most once per ms milliseconds (the last answer in between). */
function throttle(fn: () => boolean, ms: number): () => boolean {
  let last = 0;
  let value = false;
  return () => {
    if (Date.now() - last >= ms) {
      value = fn();
      last = Date.now();
    }
    return value;
  };
}
