// The restarts and log copies a bot file promises, as supervisor spec entries: the supervisor keeps them
// with no other process running (native/keep.c, fswatch.c, logcopy.c). The rules stay here: the cron
// pattern is read by the engine's one parser, which hands the supervisor the times it computed, and the
// supervisor runs `codex32 bot cron-refill` for more when its list runs short.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cron } from 'croner';
import type { KeepPromises } from '../config/schema.js';
import { EngineError } from '../errors.js';
import { RUN_FILES, spec, specEach } from './contract.js';
import { cliPath } from './supervisor.js';

/** Times handed over at once: a per-minute pattern covers 17 hours, a daily one 11 years. */
export const CRON_TIMES = 1024;

/**
 * How many times are handed over at once, and the low-water mark at which the supervisor asks for more:
 * 1024 and 256, or CODEX32_CRON_BATCH=COUNT (a test and tuning knob; the mark is a quarter of it, at least 1).
 */
export function cronBatch(): { count: number; low: number } {
  const raw = process.env.CODEX32_CRON_BATCH;
  const n = raw && /^[1-9]\d{0,5}$/.test(raw) ? Number(raw) : CRON_TIMES;
  return { count: n, low: Math.max(1, Math.ceil(n / 4)) };
}

/** The next `count` times (ms) pattern fires after `after`, ascending; fewer when it stops firing. */
export function cronTimes(pattern: string, after: number, count = cronBatch().count): number[] {
  const job = new Cron(pattern, { paused: true });
  const out: number[] = [];
  for (let t = new Date(after); out.length < count; ) {
    const next = job.nextRun(t);
    if (!next) break;
    out.push(next.getTime());
    t = next;
  }
  return out;
}

/**
 * The supervisor's spec entries for a container's or process's promises; runDir (the supervisor's run
 * directory) gives it the refill command that writes more cron times there when few are left.
 */
export function keepEntries(k: KeepPromises | undefined, runDir?: string, now = Date.now()): string[] {
  if (!k) return [];
  const e: string[] = [];
  if (k.memoryRestart) e.push(spec('memory_restart_bytes', k.memoryRestart), spec('memory_check_ms', k.memoryCheckMs ?? 1000));
  if (k.cronRestart) {
    const { count, low } = cronBatch();
    e.push(...specEach('cron_at_ms', cronTimes(k.cronRestart, now, count)));
    if (runDir) {
      e.push(...specEach('cron_refill_arg', [process.execPath, cliPath(), 'bot', 'cron-refill', '--count', String(count), runDir, k.cronRestart]));
      e.push(spec('cron_refill_low', low));
    }
  }
  if (k.watch?.paths.length) {
    e.push(...specEach('watch_path', k.watch.paths), spec('watch_base', k.watch.base), ...specEach('watch_ignore', k.watch.ignore));
    e.push(spec('watch_delay_ms', k.watch.delayMs));
  }
  if (k.copyOut) e.push(spec('copy_out', k.copyOut));
  if (k.copyErr) e.push(spec('copy_err', k.copyErr));
  if (k.copyDateFormat) e.push(spec('copy_date_format', k.copyDateFormat));
  return e;
}

/** Write the next `count` times of pattern to RUNDIR/cron-times atomically (a temporary file renamed over it). */
function writeCronTimes(runDir: string, pattern: string, now: number, count: number): void {
  const file = join(runDir, RUN_FILES.cronTimes);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, cronTimes(pattern, now, count).map((t) => `${t}\n`).join(''));
  renameSync(tmp, file);
}

/**
 * Re-arm a running supervisor's cron restarts: when RUNDIR/cron-times (which it reads beside the times
 * in its spec at each cron restart) is missing or holds fewer than half a list of times to come, write
 * the next ones. Called whenever the engine looks at the bot; the supervisor also asks by itself
 * (refillCronTimes), so one left alone never runs out either.
 */
export function refreshCronTimes(runDir: string, k: KeepPromises | undefined, now = Date.now()): void {
  if (!k?.cronRestart) return;
  const { count } = cronBatch();
  let left = 0;
  try {
    left = readFileSync(join(runDir, RUN_FILES.cronTimes), 'utf8').split('\n').filter((t) => Number(t) > now).length;
  } catch {
    /* none written yet */
  }
  if (left >= count / 2) return;
  writeCronTimes(runDir, k.cronRestart, now, count);
}

/**
 * The supervisor's refill (`codex32 bot cron-refill`, its cron_refill_arg): the next `count` times of
 * pattern written to RUNDIR/cron-times, whatever is there now.
 */
export function refillCronTimes(runDir: string, pattern: string, count = cronBatch().count, now = Date.now()): number {
  let isDir = false;
  try {
    isDir = statSync(runDir).isDirectory();
  } catch {
    /* reported below */
  }
  if (!isDir) throw new EngineError('NO_SUCH_PATH', `No run directory ${runDir}: cron-refill writes the cron times of a running supervisor into its run directory.`, { context: { path: runDir } });
  if (!Number.isInteger(count) || count < 1) throw new EngineError('INVALID_CONFIG', `Expected --count to be a whole number of at least 1, got ${count}`);
  try {
    new Cron(pattern, { paused: true });
  } catch (err) {
    throw new EngineError('INVALID_CONFIG', `Invalid cron pattern \`${pattern}\`: ${(err as Error).message.replace(/\.+$/, '')}. Give a pattern such as "0 3 * * *".`, { cause: err });
  }
  writeCronTimes(runDir, pattern, now, count);
  return count;
}
