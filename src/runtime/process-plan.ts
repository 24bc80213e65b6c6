// Launch plan of an unisolated supervised process: the same supervisor as a container, at isolation level 0.
import type { HealthCheck, KeepPromises, RestartPolicy } from '../config/schema.js';
import { spec, specEach } from './contract.js';
import { keepEntries } from './keep-plan.js';

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
  keep?: KeepPromises;
  /** the supervisor's run directory, where its cron refill writes more times */
  runDir?: string;
}

/** The supervisor's spec entries of a health check (a container's or a host process's). */
export function healthEntries(h: HealthCheck): string[] {
  return [
    ...specEach('health_arg', h.cmd),
    spec('health_interval_ms', h.intervalMs),
    spec('health_timeout_ms', h.timeoutMs),
    spec('health_retries', h.retries),
    spec('health_start_ms', h.startPeriodMs),
    spec('health_restart', h.restartOnUnhealthy),
  ];
}

/** The supervisor's spec entries for a host process with logs, exits, restart policy and health, but no isolation. */
export function processPlanEntries(p: ProcessPlanInput): string[] {
  const r = p.restart;
  const entries = [
    spec('isolation_level', 0), spec('log', p.log), spec('log_max_size', p.logMaxSize ?? 10 * 1024 * 1024), spec('log_max_files', p.logMaxFiles ?? 3), spec('cwd', p.cwd),
    spec('restart', r.name), spec('restart_max', r.maxRetries), spec('backoff_initial_ms', r.backoffInitialMs ?? 100), spec('backoff_max_ms', r.backoffMaxMs ?? 30000),
    spec('backoff_reset_ms', r.backoffResetMs ?? 10000), ...(r.minUptimeMs ? [spec('restart_min_uptime_ms', r.minUptimeMs)] : []),
    spec('stop_signal', p.stopSignal ?? 15), spec('stop_timeout_ms', Math.round((p.stopTimeout ?? 10) * 1000)), spec('timeout_ms', 0), spec('run_base', p.runBase),
    ...specEach('arg', p.argv),
    // an entry cannot hold a NUL, and a key with = would be read as another variable
    ...specEach('env', Object.entries(p.env).filter(([k, v]) => !k.includes('=') && !v.includes('\0')).map(([k, v]) => `${k}=${v}`)),
  ];
  if (p.health) entries.push(...healthEntries(p.health));
  entries.push(...keepEntries(p.keep, p.runDir));
  return entries;
}
