// Files and commands inside a container: exec, copies in and out, and export, all through the host's supervisor.
import type { ResultPromise } from 'execa';
import { validateArchive } from '../images/archive.js';
import { imageFor } from '../images/store.js';
import { EngineError } from '../errors.js';
import { splitPath, statIn, tarIn, tarOut } from '../runtime/files.js';
import { shimPath } from '../runtime/supervisor.js';
import { recordEvent, type EngineCore } from './core.js';
import { invalidState } from './status.js';

export { validateArchive } from '../images/archive.js';

/** What exec resolves to: execa's result of the supervisor's exec. */
export type ExecResult = Awaited<ResultPromise<{ reject: false; stdio: 'inherit' | 'pipe' }>>;

/**
 * Run a command inside a running container exactly like its main process: its namespaces, cgroups,
 * rlimits, capabilities and no_new_privs. Only the host's shim does the entering.
 */
export async function execIn(
  core: EngineCore,
  ref: string,
  command: string[],
  options: { env?: Record<string, string>; workdir?: string; stdio?: 'inherit' | 'pipe' } = {},
): Promise<ExecResult> {
  const row = core.get(ref);
  if (row.status !== 'running') throw invalidState(row.name, row.status, 'exec in', 'Start it first.');
  if (!command.length) throw new EngineError('INVALID_CONFIG', 'Expected a command to exec, got nothing');
  const args = ['exec', core.paths(row.id).dir];
  for (const [k, v] of Object.entries(options.env ?? {})) args.push('-e', `${k}=${v}`);
  if (options.workdir) args.push('-w', options.workdir);
  core.store.tx(() => recordEvent(core.store, 'exec', row, { command: command.join(' ') }));
  const { execa } = await import('execa');
  return execa(shimPath(), [...args, '--', ...command], { reject: false, stdio: options.stdio ?? 'pipe' });
}

/** A tar stream of path inside the container (running or stopped); its basename is the top entry. */
export async function copyFrom(core: EngineCore, ref: string, path: string) {
  const row = core.get(ref);
  const { dir, entry } = splitPath(path);
  return tarOut(shimPath(), core.paths(row.id).dir, dir, [entry]);
}

/** Copy a tar archive file into the container at dir, after refusing entries that would leave it. */
export async function copyTo(core: EngineCore, ref: string, dir: string, archive: string): Promise<void> {
  const row = core.get(ref);
  await validateArchive(archive);
  await tarIn(shimPath(), core.paths(row.id).dir, dir, archive);
}

/** Whether path inside the container is a directory, something else, or missing. */
export async function statPath(core: EngineCore, ref: string, path: string): Promise<'dir' | 'other' | 'missing'> {
  const row = core.get(ref);
  return statIn(shimPath(), core.paths(row.id).dir, path);
}

/** A tar stream of the container's own filesystem: the whole root of a rootfs image, else /app. */
export async function exportFs(core: EngineCore, ref: string) {
  const row = core.get(ref);
  const image = imageFor(core.store, row.config);
  const dir = core.paths(row.id).dir;
  if (row.config.isolation === 'minimal') return tarOut(shimPath(), dir, '/', ['*']);
  return image.kind === 'rootfs' || image.kind === 'oci' ? tarOut(shimPath(), dir, '/', ['*']) : tarOut(shimPath(), dir, '/', ['app']);
}
