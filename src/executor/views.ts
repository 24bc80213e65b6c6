// Views over many bots at once: their logs merged by time, and a listing with live usage.
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childrenOf, sweepProcs, treeUsage } from '../monitor/procsweep.js';
import type { StatsSample } from '../monitor/stats.js';
import type { AdaptiveExecutor } from './adaptive.js';
import type { BotStatus } from './types.js';

export interface BotLogRecord extends LogRecord {
  bot: string;
}

/** Every named bot's log records, merged in time order; with follow, new records as they come from any bot. */
export async function* mergedLogs(ex: AdaptiveExecutor, names: string[], options: LogOptions): AsyncGenerator<BotLogRecord> {
  if (!options.follow) {
    const all: BotLogRecord[] = [];
    for (const n of names) for await (const r of ex.logs(n, options)) all.push({ ...r, bot: n });
    all.sort((a, b) => a.ms - b.ms); // stable: one bot's records keep their order
    yield* all;
    return;
  }
  // follow: one reader per bot, each record handed on as soon as any reader has one
  const its = names.map((n) => ({ n, it: ex.logs(n, { ...options, done: options.done ?? (() => false) })[Symbol.asyncIterator]() }));
  const next = (i: number) => its[i].it.next().then((r) => ({ i, r }));
  const pending = new Map(its.map((_, i) => [i, next(i)]));
  try {
    while (pending.size) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      pending.set(i, next(i));
      yield { ...r.value, bot: its[i].n };
    }
  } finally {
    for (const { it } of its) await it.return?.(undefined);
  }
}

export interface BotUsage extends BotStatus {
  namespace?: string;
  cpuPercent?: number;
  memory?: number;
  memoryLimit?: number;
}

/** A bot's CPU time at the time of the last listing: the next one's CPU % is over the time between them, as PM2's. */
interface UsageMark {
  pid: number;
  cpuMs: number;
  time: number;
}

/** A mark older than this is not used: CPU % is then over the bot's current run (PM2 keeps a minute too). */
const MARK_MAX_AGE_MS = 60_000;

const markFile = (ex: AdaptiveExecutor) => join(ex.engine.settings.storageDir, 'bot-usage.json');

function readMarks(file: string): Record<string, UsageMark> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, UsageMark>;
  } catch {
    return {}; // none yet, or a torn write: CPU % falls back to the current run's
  }
}

/** Keep the marks for the next listing; a read-only storage only loses the shorter CPU window. */
function writeMarks(file: string, marks: Record<string, UsageMark>): void {
  try {
    writeFileSync(`${file}.tmp`, JSON.stringify(marks));
    renameSync(`${file}.tmp`, file);
  } catch {
    /* the next listing measures over the run instead */
  }
}

/**
 * Status, CPU % and memory of every bot (or those named), in one pass: the definitions in one query, every
 * LOCAL_PROCESS bot's process tree from one read of /proc, containers' from their cgroups. CPU % is over the
 * time since the previous listing when it was within a minute, else over the bot's current run; no waiting.
 */
export async function botUsage(ex: AdaptiveExecutor, names?: string[]): Promise<BotUsage[]> {
  const all = await ex.statusAll(names);
  const running = all.filter(({ status }) => status.status === 'running' && status.pid);
  const procs = running.some(({ bot }) => bot.type === 'LOCAL_PROCESS') ? sweepProcs() : new Map();
  const children = childrenOf(procs);
  const file = markFile(ex);
  const marks = readMarks(file);
  const next: Record<string, UsageMark> = {};
  const now = Date.now();
  const usage = await Promise.all(all.map(async ({ bot, status }): Promise<BotUsage> => {
    const s: BotUsage = bot.namespace ? { ...status, namespace: bot.namespace } : status;
    if (s.status !== 'running' || !s.pid) return s;
    let cpuMs: number;
    let memory: number;
    let memoryLimit: number | undefined;
    if (bot.type === 'LOCAL_PROCESS') {
      const u = treeUsage(procs, children, s.pid);
      if (!u) return s;
      ({ cpuMs, rss: memory } = u);
    } else {
      const st = await ex.stats(bot.name).catch(() => undefined);
      if (!st) return s;
      ({ cpuMs } = st);
      memory = st.memUsage ?? st.rss;
      memoryLimit = st.memLimit;
    }
    const m = marks[bot.name];
    const since = m && m.pid === s.pid && now > m.time && now - m.time < MARK_MAX_AGE_MS && cpuMs >= m.cpuMs ? m : { cpuMs: 0, time: s.startedAt ?? now };
    next[bot.name] = { pid: s.pid, cpuMs, time: now };
    const cpu = now > since.time ? ((cpuMs - since.cpuMs) / (now - since.time)) * 100 : 0;
    return { ...s, cpuPercent: Number(Math.max(0, cpu).toFixed(1)), memory, ...(memoryLimit ? { memoryLimit } : {}) };
  }));
  // marks of bots not listed this time are kept, so `bot ls NAME` does not reset the others' windows
  if (running.length) writeMarks(file, { ...(names ? marks : {}), ...next });
  return usage;
}

/** Usage samples of containers and LOCAL_PROCESS bots alike: every running one, or those named (a bot's name works too). */
export async function allStats(ex: AdaptiveExecutor, refs?: string[]): Promise<StatsSample[]> {
  if (!refs?.length) return [...(await ex.engine.stats()), ...(await ex.localStats())];
  const out: StatsSample[] = [];
  for (const ref of refs) {
    const bot = ex.engine.store.getBot(ref);
    if (bot?.type === 'LOCAL_PROCESS') {
      const s = await ex.stats(ref);
      if (s) out.push(s);
    } else out.push(...(await ex.engine.stats([ref])));
  }
  return out;
}
