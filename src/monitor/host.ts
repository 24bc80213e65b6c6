// The host's totals for the dashboard: CPU busy % between two readings of /proc/stat, memory in use, load.
import { readFileSync } from 'node:fs';
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';

/** The host's CPU time counters (all CPUs), in clock ticks: busy and total. */
export interface CpuTimes {
  busy: number;
  total: number;
}

export interface HostUsage {
  cpus: number;
  /** busy % of all CPUs together (100 = every CPU busy) since the previous reading, or since boot */
  cpuPercent: number;
  memTotal: number;
  /** memory in use: total less what the kernel says is available */
  memUsed: number;
  load: number[];
  times: CpuTimes;
}

function cpuTimes(): CpuTimes {
  try {
    // cpu  user nice system idle iowait irq softirq steal ...: idle and iowait are the idle time
    const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** One reading of the host's usage; pass the previous one's times for CPU % over the time between them. */
export function hostUsage(prev?: CpuTimes): HostUsage {
  const times = cpuTimes();
  const from = prev && times.total > prev.total ? prev : { busy: 0, total: 0 };
  const span = times.total - from.total;
  const total = totalmem();
  return {
    cpus: availableParallelism(),
    cpuPercent: span > 0 ? Number((((times.busy - from.busy) / span) * 100).toFixed(1)) : 0,
    memTotal: total,
    memUsed: total - freemem(),
    load: loadavg().map((x) => Number(x.toFixed(2))),
    times,
  };
}
