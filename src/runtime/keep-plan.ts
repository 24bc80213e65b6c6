// The restarts and log copies a bot file promises, as supervisor spec entries: the supervisor keeps them
// with no other process running (native/keep.c, fswatch.c, logcopy.c). The rules stay here: the cron
// pattern is read by the engine's one parser, which hands the supervisor the times it computed.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cron } from 'croner';
import type { KeepPromises } from '../config/schema.js';
import { RUN_FILES, spec, specEach } from './contract.js';

/** Times handed over at once: a per-minute pattern covers 17 hours, a daily one 11 years. */
export const CRON_TIMES = 1024;
/** The engine writes more times into the run directory when fewer than this many are left. */
const CRON_LOW = CRON_TIMES / 2;

/** The next `count` times (ms) pattern fires after `after`, ascending; fewer when it stops firing. */
export function cronTimes(pattern: string, after: number, count = CRON_TIMES): number[] {
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

/** The supervisor's spec entries for a container's or process's promises. */
export function keepEntries(k: KeepPromises | undefined, now = Date.now()): string[] {
  if (!k) return [];
  const e: string[] = [];
  if (k.memoryRestart) e.push(spec('memory_restart_bytes', k.memoryRestart), spec('memory_check_ms', k.memoryCheckMs ?? 1000));
  if (k.cronRestart) e.push(...specEach('cron_at_ms', cronTimes(k.cronRestart, now)));
  if (k.watch?.paths.length) {
    e.push(...specEach('watch_path', k.watch.paths), spec('watch_base', k.watch.base), ...specEach('watch_ignore', k.watch.ignore));
    e.push(spec('watch_delay_ms', k.watch.delayMs));
  }
  if (k.copyOut) e.push(spec('copy_out', k.copyOut));
  if (k.copyErr) e.push(spec('copy_err', k.copyErr));
  if (k.copyDateFormat) e.push(spec('copy_date_format', k.copyDateFormat));
  return e;
}

/**
 * Re-arm a running supervisor's cron restarts: when RUNDIR/cron-times (which it reads beside the times
 * in its spec at each cron restart) is missing or holds fewer than half a list of times to come, write
 * the next ones. Called whenever the engine looks at the bot, so a supervisor looked at now and then
 * never runs out; one left alone has CRON_TIMES of them.
 */
export function refreshCronTimes(runDir: string, k: KeepPromises | undefined, now = Date.now()): void {
  if (!k?.cronRestart) return;
  const file = join(runDir, RUN_FILES.cronTimes);
  let left = 0;
  try {
    left = readFileSync(file, 'utf8').split('\n').filter((t) => Number(t) > now).length;
  } catch {
    /* none written yet */
  }
  if (left >= CRON_LOW) return;
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, cronTimes(k.cronRestart, now).map((t) => `${t}\n`).join(''));
  renameSync(tmp, file);
}
