// Verbs on a running container that need no supervisor round trip: top (ps of its processes),
// pause and unpause (the freezer cgroup), and rename.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { validateName } from '../config/names.js';
import { EngineError } from '../errors.js';
import { runFile } from '../runtime/command.js';
import { containerPids } from '../monitor/stats.js';
import type { CgroupSet } from '../runtime/cgroups.js';
import { pollFor } from '../runtime/poll.js';
import type { ContainerRow } from '../state/types.js';
import { recordEvent, type EngineCore } from './core.js';
import { isActive, isPaused } from './status.js';
import { syncNetworks } from './usernets.js';

/** docker top's answer: ps's column titles and one row of fields per process of the container. */
export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** docker's refusal of a verb that needs a running container. */
function notRunning(row: ContainerRow): EngineError {
  return new EngineError('INVALID_STATE', `Container ${row.id} is not running`, { context: { container: row.name, status: row.status } });
}

/**
 * ps run on the host with the caller's options (docker's default -ef), its lines kept for the container's
 * pids only: the PID column is found by its title, the last column takes the rest of the line (the command).
 */
export async function topContainer(core: EngineCore, ref: string, psArgs = '-ef'): Promise<TopResult> {
  const row = core.get(ref);
  if (row.status !== 'running') throw notRunning(row);
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : [];
  const out = await runFile('ps', args, { maxBuffer: 64 << 20 }).then(
    (r) => r.stdout,
    (e: Error & { stderr?: string }) => {
      throw new EngineError('INVALID_CONFIG', `ps ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}. Give options ps understands, e.g. \`aux\` or \`-o pid,comm\`.`, { cause: e });
    },
  );
  const lines = out.split('\n').filter((l) => l.trim());
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw new EngineError('INVALID_CONFIG', `Couldn't find PID field in ps output. Give ps options whose output has a PID column, e.g. \`-o pid,comm\`.`);
  const pids = new Set(containerPids(row));
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    if (pids.has(Number(fields[pidCol]))) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

/** The freezer control file of a container's cgroups: v2 cgroup.freeze, v1 the freezer hierarchy's freezer.state. */
function freezerFile(set: CgroupSet | undefined): { file: string; v2: boolean } | undefined {
  if (set?.version === 'v2' && set.dirs[0] && existsSync(`${set.dirs[0]}/cgroup.freeze`)) return { file: `${set.dirs[0]}/cgroup.freeze`, v2: true };
  const dir = set?.dirs.find((d) => existsSync(`${d}/freezer.state`));
  return dir ? { file: `${dir}/freezer.state`, v2: false } : undefined;
}

/** Freeze or thaw the cgroup and wait for it to take hold (a task in uninterruptible sleep holds a freeze off). */
async function setFrozen(row: ContainerRow, frozen: boolean): Promise<void> {
  const f = freezerFile(row.state.cgroups);
  if (!f)
    throw new EngineError('HOST_UNSUPPORTED', `Cannot pause container ${row.name}: it has no freezer cgroup (this host has no v1 freezer or v2 cgroup.freeze, or the container runs at minimal isolation without cgroups). Run \`codex32 info\`.`, {
      context: { container: row.name },
    });
  try {
    writeFileSync(f.file, f.v2 ? (frozen ? '1' : '0') : frozen ? 'FROZEN' : 'THAWED');
  } catch (cause) {
    throw new EngineError('RUNTIME_FAILED', `Cannot ${frozen ? 'freeze' : 'thaw'} container ${row.name} through ${f.file}: ${(cause as Error).message}`, { cause, context: { container: row.name } });
  }
  const done = () => {
    try {
      if (f.v2) return /^frozen (\d)$/m.exec(readFileSync(f.file.replace(/cgroup\.freeze$/, 'cgroup.events'), 'utf8'))?.[1] === (frozen ? '1' : '0') || undefined;
      return readFileSync(f.file, 'utf8').trim() === (frozen ? 'FROZEN' : 'THAWED') || undefined;
    } catch {
      return true; // the cgroup is gone: the container has ended meanwhile
    }
  };
  if (!(await pollFor(done, 5000))) {
    if (frozen) writeFileSync(f.file, f.v2 ? '0' : 'THAWED'); // never leave it half frozen
    throw new EngineError('TIMEOUT', `Container ${row.name} did not ${frozen ? 'freeze' : 'thaw'} within 5 s (a process of it is stuck in the kernel). Try again.`, { context: { container: row.name } });
  }
}

/** Freeze every process of a running container (docker pause); recorded as a state flag, event `pause`. */
export async function pauseContainer(core: EngineCore, ref: string): Promise<void> {
  const row = core.get(ref);
  if (row.status !== 'running') throw notRunning(row);
  if (isPaused(row)) throw new EngineError('INVALID_STATE', `Container ${row.id} is already paused`, { context: { container: row.name } });
  await setFrozen(row, true);
  core.store.tx(() => {
    const cur = core.store.getContainer(row.id)!;
    core.store.updateContainer(cur.id, cur.status, { ...cur.state, paused: true });
    recordEvent(core.store, 'pause', cur);
  });
}

/** Thaw a paused container (docker unpause); event `unpause`. */
export async function unpauseContainer(core: EngineCore, ref: string): Promise<void> {
  const row = core.get(ref);
  if (!isPaused(row)) throw new EngineError('INVALID_STATE', `Container ${row.id} is not paused`, { context: { container: row.name } });
  await thaw(core, row);
}

/** Thaw a paused container and clear its flag: stop and kill do it first, as a frozen process cannot act on a signal. */
export async function thaw(core: EngineCore, row: ContainerRow): Promise<void> {
  if (!row.state.paused) return;
  await setFrozen(row, false);
  core.store.tx(() => {
    const cur = core.store.getContainer(row.id)!;
    core.store.updateContainer(cur.id, cur.status, { ...cur.state, paused: undefined });
    recordEvent(core.store, 'unpause', cur);
  });
}

/** Give a container a new name (docker rename): validated as at create, a taken one refused with docker's words. */
export async function renameContainer(core: EngineCore, ref: string, newName: string): Promise<void> {
  const name = validateName(newName.replace(/^\//, ''));
  const row = core.find(ref);
  if (row.name === name) throw new EngineError('INVALID_CONFIG', `Renaming a container with the same name as its current name`, { context: { container: name } });
  core.store.tx(() => {
    const other = core.store.getContainer(name);
    if (other)
      throw new EngineError('NAME_IN_USE', `Conflict. The container name "/${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`, {
        context: { container: name },
      });
    const cur = core.store.getContainer(row.id)!;
    // the hostname stays what the container has been using (docker's stays the id it was created with)
    core.store.renameContainer(cur.id, name, { ...cur.config, name, hostname: cur.config.hostname ?? cur.name });
    recordEvent(core.store, 'rename', { id: cur.id, name }, { oldName: `/${cur.name}` });
  });
  // its peers on user networks resolve it by name through their hosts files: rewrite them now
  if (row.config.networks.length && isActive(row.status)) await syncNetworks(core);
}
