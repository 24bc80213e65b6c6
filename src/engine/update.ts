// docker update: new resource limits written to a running container's cgroups, a new restart policy handed
// to its running supervisor, both recorded in its config so the next start keeps them.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemas, type RestartPolicy } from '../config/schema.js';
import { EngineError } from '../errors.js';
import { applyLiveWrites, LIMIT_FLAGS, planLiveWrites, type LiveLimits } from '../runtime/cgroup-update.js';
import { checkCgroupLimits } from '../runtime/cgroups.js';
import { RUN_FILES } from '../runtime/contract.js';
import { probeHost } from '../runtime/probe.js';
import { recordEvent, type EngineCore } from './core.js';
import { isActive } from './status.js';

/** What update may change: limits (0 or -1 lifts cpus and pids) and the restart policy. */
export interface UpdateOptions extends LiveLimits {
  restart?: Pick<RestartPolicy, 'name' | 'maxRetries'>;
}

/** The restart policy file of a running container's supervisor, written whole (NAME.tmp, then renamed). */
function writeRestartPolicy(runDir: string, r: Pick<RestartPolicy, 'name' | 'maxRetries'>): void {
  const file = join(runDir, RUN_FILES.restartPolicy);
  writeFileSync(`${file}.tmp`, `${r.name} ${r.maxRetries}\n`);
  renameSync(`${file}.tmp`, file);
}

/** docker's own refusals of a memory and swap pair: a swap limit only with a memory limit, and never below it (-1: unlimited swap). */
export function checkSwap(memory: number | undefined, swap: number | undefined): void {
  if (swap === undefined) return;
  if (memory === undefined) throw new EngineError('INVALID_CONFIG', 'You should always set the Memory limit when using Memoryswap limit, see usage. Give --memory too.');
  if (swap >= 0 && swap < memory) throw new EngineError('INVALID_CONFIG', 'Minimum memoryswap limit should be larger than memory limit, see usage. Give a --memory-swap at least --memory, or -1 for unlimited swap.');
}

/**
 * Apply new limits to a container: live through its cgroup files when it runs (a limit its cgroups cannot
 * hold is refused by its flag, nothing written), and in its config for every later start. Event `update`.
 */
export function updateContainer(core: EngineCore, ref: string, want: UpdateOptions): void {
  const row = core.get(ref);
  const given = Object.fromEntries(Object.entries(want).filter(([k, v]) => v !== undefined && k !== 'restart')) as LiveLimits;
  if (!Object.keys(given).length && !want.restart) throw new EngineError('INVALID_CONFIG', 'You must provide one or more flags when using this command: --memory, --memory-swap, --cpus, --cpu-shares, --pids-limit or --restart.');
  const limits = { ...row.config.limits, ...given };
  if (given.cpus === 0) delete limits.cpus; // docker: 0 lifts the limit
  if (given.pids !== undefined && given.pids <= 0) delete limits.pids;
  checkSwap(limits.memory, given.memorySwap ?? (given.memory !== undefined ? undefined : limits.memorySwap));
  if (given.memory !== undefined && given.memorySwap === undefined && limits.memorySwap !== undefined && limits.memorySwap >= 0 && limits.memorySwap < given.memory) delete limits.memorySwap;
  const parsed = schemas().ResourceLimitsSchema.safeParse(limits);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '') as keyof LiveLimits;
    throw new EngineError('INVALID_CONFIG', `Invalid ${LIMIT_FLAGS[key] ?? key}: ${issue.message}`, { context: { flag: LIMIT_FLAGS[key] ?? key } });
  }
  const live = isActive(row.status);
  if (want.restart && want.restart.name !== 'no' && row.config.autoRemove)
    throw new EngineError('INVALID_CONFIG', 'Restart policy cannot be updated because AutoRemove is enabled for the container. Run it again without --rm to give it a restart policy.', {
      context: { container: row.name, flag: '--restart' },
    });
  checkCgroupLimits(row.config.isolation, parsed.data, probeHost().cgroup);
  // a new memory keeps the recorded memory+swap (or none): the swap file is rewritten to match
  const liveWant = given.memory !== undefined && given.memorySwap === undefined && limits.memorySwap !== undefined ? { ...given, memorySwap: limits.memorySwap } : given;
  if (live) applyLiveWrites(planLiveWrites(row.state.cgroups, liveWant, limits.memory));
  core.store.tx(() => {
    const cur = core.store.getContainer(row.id)!;
    const restart = want.restart ? { ...cur.config.restart, ...want.restart } : cur.config.restart;
    core.store.updateConfig(cur.id, { ...cur.config, limits: parsed.data, restart });
    // the running supervisor reads this at the container's next exit in place of its spec's policy
    if (want.restart && isActive(cur.status)) writeRestartPolicy(core.paths(cur.id).dir, restart);
    recordEvent(core.store, 'update', cur, Object.fromEntries(Object.entries({ ...given, restart: want.restart?.name }).filter(([, v]) => v !== undefined)));
  });
}
