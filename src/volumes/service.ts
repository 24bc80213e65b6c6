// Named volumes: create, list with filters, inspect, remove (refused while a container uses one) and prune.
import { hasLabel } from '../engine/prunefilter.js';
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, rm } from '../lazy.js';
import { EngineError } from '../errors.js';
import type { ContainerRow } from '../state/types.js';
import type { EngineCore } from '../engine/core.js';
import { parseDriverOpts, validateVolumeName, volumePaths } from './driver.js';
import { VolumeTable, type VolumeRow } from './table.js';

/** A volume in docker's shape (GET /volumes/{name}, `docker volume inspect`). */
export interface VolumeInfo {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string> | null;
  /** the ids of the containers using it (codex32's addition; docker shows it only in `system df`) */
  UsedBy: string[];
}

export interface VolumeCreateOptions {
  driver?: string;
  driverOpts?: Record<string, string>;
  labels?: Record<string, string>;
}

/** docker's list filters: name (substring), label (KEY or KEY=VALUE), dangling, driver. */
export interface VolumeFilters {
  name?: string[];
  label?: string[];
  dangling?: boolean;
  driver?: string[];
}

/** True when a volume's labels hold every KEY or KEY=VALUE of wanted. */
function labelsMatch(labels: Record<string, string>, wanted: string[] = []): boolean {
  return wanted.every((l) => hasLabel(labels, l));
}

/** Bytes under a directory (files only, links not followed). */
function diskUsage(path: string): number {
  let n = 0;
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (st.isDirectory()) for (const e of readdirSync(path)) n += diskUsage(join(path, e));
  else if (st.isFile()) n += st.size;
  return n;
}

/** The engine's volumes; which containers use one is read from their configs, so it is never out of date. */
export class EngineVolumes {
  constructor(private readonly core: EngineCore) {}

  private get table(): VolumeTable {
    return new VolumeTable(this.core.store);
  }

  /** Ids of the containers (any state) whose config mounts the volume. */
  usedBy(name: string, containers: ContainerRow[] = this.core.store.listContainers()): string[] {
    return containers.filter((c) => c.config.volumes.some((v) => v.name === name)).map((c) => c.id);
  }

  private info(v: VolumeRow, containers?: ContainerRow[]): VolumeInfo {
    return {
      Name: v.name,
      Driver: v.driver,
      Mountpoint: volumePaths(this.core.settings.storageDir, v.name).data,
      CreatedAt: new Date(v.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Labels: v.labels,
      Scope: 'local',
      Options: Object.keys(v.options).length ? v.options : null,
      UsedBy: this.usedBy(v.name, containers),
    };
  }

  /** The stored row of a volume, or NO_SUCH_VOLUME. */
  row(name: string): VolumeRow {
    const v = this.table.get(name);
    if (!v) throw new EngineError('NO_SUCH_VOLUME', `No such volume: ${name}. Run \`codex32 volume ls\` to list them, or \`codex32 volume create ${name}\`.`, { context: { volume: name } });
    return v;
  }

  /** Make the volume's directories: searchable by strict containers' unprivileged root, its data 0755. */
  private makeDirs(name: string): void {
    const { dir, data } = volumePaths(this.core.settings.storageDir, name);
    mkdirSync(join(dir, '..'), { recursive: true, mode: 0o711 });
    mkdirSync(data, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o711);
  }

  /**
   * Create a volume (a generated name when none); an existing one of that name is returned as it is, as
   * docker does, unless other options were asked for.
   */
  create(name?: string, options: VolumeCreateOptions & { anonymous?: boolean } = {}): VolumeInfo {
    const driver = options.driver || 'local';
    if (driver !== 'local') throw new EngineError('INVALID_CONFIG', `The volume driver \`${driver}\` is not supported: codex32 has only the local driver.`);
    const opts = options.driverOpts ?? {};
    parseDriverOpts(opts);
    const n = validateVolumeName(name ?? randomBytes(32).toString('hex'));
    const existing = this.table.get(n);
    if (existing) {
      if (Object.keys(opts).length && JSON.stringify(opts) !== JSON.stringify(existing.options))
        throw new EngineError('INVALID_CONFIG', `The volume ${n} exists with other options (${JSON.stringify(existing.options)}). Remove it first, or create it without options.`, { context: { volume: n } });
      this.makeDirs(n);
      return this.info(existing);
    }
    this.makeDirs(n);
    const row: VolumeRow = { name: n, driver: 'local', createdAt: Date.now(), anonymous: !!options.anonymous, options: opts, labels: options.labels ?? {} };
    this.core.store.tx(() => this.table.insert(row));
    return this.info(this.table.get(n) ?? row);
  }

  /** docker volume inspect's shape. */
  inspect(name: string): VolumeInfo {
    return this.info(this.row(name));
  }

  /** Every volume that passes the filters. */
  list(filters: VolumeFilters = {}): VolumeInfo[] {
    for (const d of filters.driver ?? []) if (d !== 'local') return [];
    const containers = this.core.store.listContainers();
    return this.table
      .list()
      .map((v) => this.info(v, containers))
      .filter((v) => (!filters.name?.length || filters.name.some((n) => v.Name.includes(n))) && labelsMatch(v.Labels, filters.label))
      .filter((v) => filters.dangling === undefined || filters.dangling === (v.UsedBy.length === 0));
  }

  /** Remove a volume and its data; refused while a container (in any state) uses it. force: a missing one is no error. */
  async remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    const gone = this.core.store.tx(() => {
      const v = this.table.get(name);
      if (!v) {
        if (options.force) return false;
        this.row(name);
      }
      const users = this.usedBy(name);
      if (users.length)
        throw new EngineError('VOLUME_IN_USE', `remove ${name}: volume is in use - [${users.join(', ')}]`, { context: { volume: name } });
      this.table.delete(name);
      return true;
    });
    if (gone) await rm(volumePaths(this.core.settings.storageDir, name).dir, { recursive: true, force: true });
  }

  /** Remove the unused volumes (only anonymous ones unless all) that pass the label filters; returns their names and bytes. */
  async prune(options: { all?: boolean; label?: string[] } = {}): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    const unused = this.list({ dangling: true, label: options.label }).filter((v) => options.all || this.table.get(v.Name)?.anonymous);
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const v of unused) {
      const bytes = statSync(v.Mountpoint, { throwIfNoEntry: false }) ? diskUsage(v.Mountpoint) : 0;
      try {
        await this.remove(v.Name);
      } catch (e) {
        if (e instanceof EngineError && (e.code === 'VOLUME_IN_USE' || e.code === 'NO_SUCH_VOLUME')) continue; // taken or removed meanwhile
        throw e;
      }
      deleted.push(v.Name);
      spaceReclaimed += bytes;
    }
    return { deleted, spaceReclaimed };
  }
}
