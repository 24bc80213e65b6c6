// ContainerEngine: the one library every front end (CLI, service, embedding programs) drives.
// Each concern lives in its own module (create, lifecycle, removal, policy, observe, files, images,
// host, process); this class holds the settings and the store and delegates.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerConfig } from '../config/schema.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { EngineError, isEngineError } from '../errors.js';
import type { LogChunk, LogOptions, LogRecord } from '../monitor/logs.js';
import type { StatsSample } from '../monitor/stats.js';
import { containerPaths, type ContainerPaths } from '../runtime/layout.js';
import { holdLauncher, releaseLauncher } from '../runtime/launcher.js';
import type { StateStore } from '../state/store.js';
import type { ContainerRow, EventRecord, RunRecord } from '../state/types.js';
import type { AttachSession } from '../runtime/attach.js';
import type { BuildEvent, BuildOptions } from '../build/build.js';
import type { OciImage } from '../images/catalog.js';
import { attachTo, startAttached } from './attach.js';
import { AutoRemovals } from './autoremoval.js';
import { recordEvent, type EngineCore } from './core.js';
import { pauseContainer, renameContainer, topContainer, unpauseContainer, type TopResult } from './control.js';
import { createContainer } from './create.js';
import type { PruneFilters } from './prunefilter.js';
import { containerChanges, diskUsage, pruneContainersWith, systemPrune, type Change, type DiskUsage, type SystemPruneResult } from './space.js';
import { updateContainer, type UpdateOptions } from './update.js';
import { execDetached, execIn, execStream, type ExecOptions, type ExecProcess, type ExecResult } from './exec.js';
import { readFiles, writeFiles, type FileRead, type FileToWrite } from './contents.js';
import { copyFrom, copyTo, exportFs, statPath } from './files.js';
import { engineInfo, type EngineInfo } from './host.js';
import { EngineImages, imageList, importImageFile, removeImageNamed } from './images.js';
import { EngineNetworks } from './netapi.js';
import type { InspectResult } from './inspect.js';
import { killContainer, startContainer, stopContainer, waitContainer, waitExit, type WaitOptions, type WaitResult } from './lifecycle.js';
import { containerLogChunks, containerLogProblems, containerLogs, containerStats, inspectContainer } from './observe.js';
import { listContainers, startAll, wantsRestart } from './policy.js';
import { SupervisedProcesses } from './process.js';
import { Container } from './container.js';
import { reconcileContainer } from './reconcile.js';
import { findContainer } from './lookup.js';
import { holdRemoval, pruneContainers, removeContainer } from './removal.js';
import { openState, removeFromDisk } from './repair.js';
import { mapStorageErrors } from './storage-errors.js';
import { EngineVolumes } from '../volumes/service.js';
import { refuseRootless } from '../runtime/rootless.js';

export { Container } from './container.js';

export interface EngineOptions extends Partial<Settings> {}

/** The container engine: state in SQLite, one supervisor per running container, no daemon. */
export class ContainerEngine implements EngineCore {
  readonly settings: Settings;
  private readonly opened?: StateStore;
  /** why the database could not be opened: raised by every call that needs it, so rm -f can still work from disk */
  private readonly openError?: EngineError;
  private closed = false;
  /** Unisolated host processes under the same supervisor (LOCAL_PROCESS bots). */
  readonly processes: SupervisedProcesses;
  /** OCI images: pull, push, load, save, tag, rmi, prune, inspect, login. */
  readonly image: EngineImages;
  /** user networks: create, list, inspect, remove, prune, connect, disconnect. */
  readonly network: EngineNetworks;
  /** Named volumes: create, ls, inspect, rm, prune. */
  readonly volume: EngineVolumes;

  constructor(options: EngineOptions = {}) {
    this.settings = { ...loadSettings(process.env, options) };
    // searchable but not listable: strict containers' unprivileged root must reach its own directory
    mkdirSync(join(this.settings.storageDir, 'containers'), { recursive: true, mode: 0o711 });
    for (const d of [this.settings.storageDir, join(this.settings.storageDir, 'containers')]) if ((statSync(d).mode & 0o777) === 0o700) chmodSync(d, 0o711);
    try {
      this.opened = openState(this.settings.storageDir);
    } catch (e) {
      if (!isEngineError(e)) throw e;
      this.openError = e;
    }
    this.processes = new SupervisedProcesses(this);
    this.image = new EngineImages(this);
    this.network = new EngineNetworks(this);
    this.volume = new EngineVolumes(this);
    holdLauncher();
  }

  /** The state database; raises the error that kept it from opening. */
  get store(): StateStore {
    if (this.openError) throw this.openError;
    return this.opened!;
  }

  /** What this host supports. */
  info(): EngineInfo {
    return engineInfo(this);
  }

  /** Paths of a container's files. */
  paths(id: string): ContainerPaths {
    return containerPaths(this.settings.storageDir, id);
  }

  /** Find a container by name, full id or unique id prefix; reconciled before it is returned. */
  get(ref: string): ContainerRow {
    return this.reconcile(this.find(ref));
  }

  /** Find a container as get does, as the database has it (not reconciled). */
  find(ref: string): ContainerRow {
    return findContainer(this.store, ref);
  }

  /**
   * Bring a row up to date with its supervisor, recording exits and events. An auto-remove container found ended
   * for good is removed in the background: the CLI awaits that before it exits (settle), a list before it answers.
   */
  reconcile(row: ContainerRow): ContainerRow {
    return reconcileContainer(this, row);
  }

  private readonly autoRemovals = new AutoRemovals(this);

  /** Finish the removal of an auto-remove container that has ended (once per process at a time); true once tried. */
  finishRemoval(row: ContainerRow): Promise<boolean> {
    return this.autoRemovals.finish(row);
  }

  /** Resolve once the auto-removals this process began are done: a short-lived caller awaits it before close. */
  settle(): Promise<void> {
    return this.autoRemovals.settle();
  }

  /**
   * Build an image from a Dockerfile (docker's classic builder): every RUN in a container of its own,
   * every step cached; onEvent gets the progress. The build code is loaded only when a build runs.
   */
  async build(options: BuildOptions, onEvent: (e: BuildEvent) => void = () => undefined): Promise<OciImage> {
    refuseRootless('build');
    const { build } = await import('../build/build.js');
    return build(this, options, onEvent);
  }

  /** Validate a config and create the container (not started). */
  async create(input: ContainerConfig, options: { cwd?: string } = {}): Promise<Container> {
    const { id, name } = await createContainer(this, input, options);
    return new Container(this, id, name);
  }

  /** Start a created or stopped container; resolves once its command has exec'd. */
  start(ref: string): Promise<void> {
    return startContainer(this, ref).then(() => undefined);
  }

  /** Start a container created with -i or -t, attached: the session is connected before its command runs. */
  startAttached(ref: string): Promise<AttachSession> {
    return startAttached(this, ref);
  }

  /** Attach to the terminal or stdin of a running container created with -i or -t. */
  attach(ref: string): Promise<AttachSession> {
    return attachTo(this, ref);
  }

  /** Stop: the stop signal, then SIGKILL after the grace period; no process of the container remains. */
  stop(ref: string, options: { timeout?: number; signal?: number } = {}): Promise<void> {
    return stopContainer(this, ref, options);
  }

  /** Send a signal to the container's processes (no restart follows if it ends). */
  kill(ref: string, signal = 9): Promise<void> {
    return killContainer(this, ref, signal);
  }

  /** Freeze every process of a running container (the freezer cgroup); it stays `running`, shown as paused. */
  pause(ref: string): Promise<void> {
    return pauseContainer(this, ref);
  }

  /** Thaw a paused container. */
  unpause(ref: string): Promise<void> {
    return unpauseContainer(this, ref);
  }

  /** The container's processes as ps shows them with psArgs (default -ef): titles and one row per process. */
  top(ref: string, psArgs?: string): Promise<TopResult> {
    return topContainer(this, ref, psArgs);
  }

  /** Give a container a new name, validated as at create. */
  rename(ref: string, name: string): Promise<void> {
    return renameContainer(this, ref, name);
  }

  /** New limits or restart policy: written live to a running container's cgroups, and kept in its config. */
  update(ref: string, options: UpdateOptions): void {
    updateContainer(this, ref, options);
  }

  /** Stop (if running) and start again. */
  async restart(ref: string, options: { timeout?: number } = {}): Promise<void> {
    const row = this.get(ref);
    // an auto-remove container is kept across a restart's stop, as docker does; a failed start removes it
    if (row.config.autoRemove) this.holdRemoval(row.id, true);
    try {
      await this.stop(row.id, options);
      await this.start(row.id);
    } finally {
      if (row.config.autoRemove) this.holdRemoval(row.id, false);
    }
    recordEvent(this.store, 'restart', this.get(row.id), { manual: true });
  }

  /**
   * Keep an auto-remove container past its end while its caller still reads it (a foreground `run --rm`,
   * a restart), or let it go: released, one that has already ended is removed now.
   */
  holdRemoval(ref: string, hold: boolean): void {
    const row = this.find(ref);
    holdRemoval(this.store, row.id, hold);
    if (!hold) this.reconcile(this.find(row.id));
  }

  /** Wait until the container stops; resolves to its exit code, or with details: true to { exitCode, oomKilled }. */
  wait(ref: string, options: WaitOptions & { details: true }): Promise<WaitResult>;
  wait(ref: string, options?: WaitOptions & { details?: false }): Promise<number>;
  wait(ref: string, options: WaitOptions & { details?: boolean } = {}): Promise<number | WaitResult> {
    return options.details ? waitExit(this, ref, options) : waitContainer(this, ref, options);
  }

  /** Remove a container and everything it has on disk; force stops it first; volumes: its anonymous volumes too. */
  async remove(ref: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    try {
      await removeContainer(this, ref, options);
    } catch (e) {
      // a damaged database must not keep a running container from being stopped: its directory says enough
      if (!options.force || !isEngineError(e, 'STATE_CORRUPT')) throw e;
      await removeFromDisk(this.settings.storageDir, ref);
    }
  }

  /** All containers (reconciled, lost supervisors repaired per policy); only active ones unless all. */
  list(options: { all?: boolean } = {}): Promise<ContainerRow[]> {
    return listContainers(this, options);
  }

  /** True when the restart policy asks for this stopped container to run again. */
  wantsRestart(row: ContainerRow): boolean {
    return wantsRestart(row);
  }

  /** Start every stopped container whose policy says it should run (after a host restart); returns their names. */
  startAll(): Promise<string[]> {
    return startAll(this);
  }

  /** docker-shaped description of a container. */
  inspect(ref: string): Promise<InspectResult> {
    return inspectContainer(this, ref);
  }

  /** Run history of a container. */
  runs(ref: string): RunRecord[] {
    return this.store.listRuns(this.get(ref).id);
  }

  /** Log records of a container; follow ends when the container stops. */
  logs(ref: string, options: LogOptions = {}): AsyncGenerator<LogRecord> {
    return containerLogs(this, ref, options);
  }

  /** A container's log as raw CRI records, a file's worth at a time, for readers that copy them out in bulk. */
  logChunks(ref: string, options: Pick<LogOptions, 'follow' | 'done' | 'signal'> = {}): AsyncGenerator<LogChunk> {
    return containerLogChunks(this, ref, options);
  }

  /** The failures of the container's log in its last run (cannot open or write it), oldest first. */
  logProblems(ref: string): string[] {
    return containerLogProblems(this, ref);
  }

  /** One usage sample of the given running containers (all running ones when none are named). */
  stats(refs?: string[]): Promise<StatsSample[]> {
    return containerStats(this, refs);
  }

  /** Events after a time or id. */
  events(options: { since?: number; until?: number; afterId?: number } = {}): EventRecord[] {
    return this.store.listEvents(options);
  }

  /** Remove stopped containers, and leftovers of interrupted creates; returns the names removed. */
  prune(): Promise<string[]> {
    return pruneContainers(this);
  }

  /** container prune with docker's filters (until, label, label!): names removed and bytes given back. */
  pruneContainers(filters?: PruneFilters): Promise<{ containers: string[]; ids: string[]; reclaimed: number }> {
    return pruneContainersWith(this, filters);
  }

  /** system prune: stopped containers, unused networks, dangling images (all unused ones with all). */
  async systemPrune(options: { all?: boolean; filters?: PruneFilters } = {}): Promise<SystemPruneResult> {
    return systemPrune(this, this.image, this.network, options);
  }

  /** system df: what images and containers take on disk, and what a prune would give back. */
  async diskUsage(): Promise<DiskUsage> {
    return diskUsage(this, this.image, await this.list({ all: true }));
  }

  /** A container's changes to its image: added, changed and deleted paths (docker diff). */
  diff(ref: string): Promise<Change[]> {
    return containerChanges(this, ref);
  }

  /**
   * Run a command inside a running container exactly like its main process (namespaces, cgroups,
   * rlimits, capabilities): exact output as a string (or bytes with encoding 'buffer'), with stdin,
   * timeout, AbortSignal, user, env and workdir; with detach, start it and return its helper's pid.
   */
  exec(ref: string, command: string[], options: ExecOptions & { detach: true }): Promise<{ pid: number }>;
  exec(ref: string, command: string[], options: ExecOptions & { encoding: 'buffer' }): Promise<ExecResult<Buffer>>;
  exec(ref: string, command: string[], options?: ExecOptions): Promise<ExecResult<string>>;
  async exec(ref: string, command: string[], options: ExecOptions = {}): Promise<ExecResult<string | Buffer> | { pid: number }> {
    if (options.detach) return execDetached(this, ref, command, options);
    return execIn(this, ref, command, options);
  }

  /** Start a command inside a running container with its stdio as streams and its exit code as a promise. */
  execStream(ref: string, command: string[], options: Omit<ExecOptions, 'encoding' | 'stdio' | 'detach'> = {}): ExecProcess {
    return execStream(this, ref, command, options);
  }

  /** A tar stream of path inside the container (running or stopped); its basename is the top entry. */
  copyFrom(ref: string, path: string) {
    return copyFrom(this, ref, path);
  }

  /**
   * Copy a tar archive file into the container at path, with docker's rules: into path if it is a
   * directory, else as path itself (the archive's single top entry renamed by the caller).
   */
  copyTo(ref: string, dir: string, archive: string): Promise<void> {
    return copyTo(this, ref, dir, archive);
  }

  /** Whether path inside the container is a directory, something else, or missing. */
  statPath(ref: string, path: string): Promise<'dir' | 'other' | 'missing'> {
    return statPath(this, ref, path);
  }

  /** Write files into the container (parents made as needed) in one supervisor round trip, never through a link out of it. */
  writeFiles(ref: string, files: FileToWrite[]): Promise<void> {
    return writeFiles(this, ref, files);
  }

  /** Read files from the container in one round trip; a missing path is an EngineError with code NO_SUCH_PATH. */
  readFiles(ref: string, paths: string[]): Promise<FileRead[]> {
    return readFiles(this, ref, paths);
  }

  /** A tar stream of the container's own filesystem: the whole root of a rootfs image, else /app. */
  exportFs(ref: string) {
    return exportFs(this, ref);
  }

  /** Import a root filesystem tarball as a named image. */
  importImage(file: string, name: string) {
    return importImageFile(this, file, name);
  }

  /** The built-in and imported images. */
  images() {
    return imageList(this);
  }

  /** Remove an imported image no container uses. */
  removeImage(name: string): void {
    removeImageNamed(this, name);
  }

  /** Close the database and, with the last engine open here, the launcher; containers keep running (daemonless). */
  close(): void {
    this.opened?.close();
    if (!this.closed) releaseLauncher();
    this.closed = true;
  }
}

mapStorageErrors(ContainerEngine);
