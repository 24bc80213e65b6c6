// Launch plan of an unisolated supervised process: the same supervisor as a container, at isolation level 0.
import type { HealthCheck, RestartPolicy } from '../config/schema.js';

export interface ProcessPlanInput {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  log: string;
  restart: Pick<RestartPolicy, 'name' | 'maxRetries'> & Partial<RestartPolicy>;
  stopSignal?: number;
  stopTimeout?: number;
  health?: HealthCheck;
  /** the last run number already recorded in the run directory, so run numbers keep counting */
  runBase: number;
  logMaxSize?: number;
  logMaxFiles?: number;
}

/** The supervisor's spec entries for a host process with logs, exits, restart policy and health, but no isolation. */
export function processPlanEntries(p: ProcessPlanInput): string[] {
  const r = p.restart;
  const entries = [
    'isolation_level=0', `log=${p.log}`, `log_max_size=${p.logMaxSize ?? 10 * 1024 * 1024}`, `log_max_files=${p.logMaxFiles ?? 3}`, `cwd=${p.cwd}`,
    `restart=${r.name}`, `restart_max=${r.maxRetries}`, `backoff_initial_ms=${r.backoffInitialMs ?? 100}`, `backoff_max_ms=${r.backoffMaxMs ?? 30000}`,
    `backoff_reset_ms=${r.backoffResetMs ?? 10000}`, ...(r.minUptimeMs ? [`restart_min_uptime_ms=${r.minUptimeMs}`] : []),
    `stop_signal=${p.stopSignal ?? 15}`, `stop_timeout_ms=${Math.round((p.stopTimeout ?? 10) * 1000)}`, 'timeout_ms=0', `run_base=${p.runBase}`,
    ...p.argv.map((a) => `arg=${a}`),
    // an entry cannot hold a NUL, and a key with = would be read as another variable
    ...Object.entries(p.env).filter(([k, v]) => !k.includes('=') && !v.includes('\0')).map(([k, v]) => `env=${k}=${v}`),
  ];
  const h = p.health;
  if (h)
    entries.push(...h.cmd.map((a) => `health_arg=${a}`), `health_interval_ms=${h.intervalMs}`, `health_timeout_ms=${h.timeoutMs}`, `health_retries=${h.retries}`, `health_start_ms=${h.startPeriodMs}`, `health_restart=${h.restartOnUnhealthy ? 1 : 0}`);
  return entries;
}
