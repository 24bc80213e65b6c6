// Views over many bots at once: their logs merged by time, and a listing with live usage.
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import { cpuPercent, type StatsSample } from '../monitor/stats.js';
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
  cpuPercent?: number;
  memory?: number;
  memoryLimit?: number;
}

/** Status plus CPU % (over `windowMs`) and memory of each named bot. */
export async function botUsage(ex: AdaptiveExecutor, names: string[], windowMs = 250): Promise<BotUsage[]> {
  const first = await Promise.all(names.map((n) => ex.stats(n).catch(() => undefined)));
  if (first.some(Boolean)) await new Promise((r) => setTimeout(r, windowMs));
  const out: BotUsage[] = [];
  for (const [i, n] of names.entries()) {
    const s = await ex.status(n);
    const b = first[i] ? await ex.stats(n).catch(() => undefined) : undefined;
    out.push(b ? { ...s, cpuPercent: Number(cpuPercent(first[i], b).toFixed(1)), memory: b.memUsage ?? b.rss, memoryLimit: b.memLimit } : s);
  }
  return out;
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
