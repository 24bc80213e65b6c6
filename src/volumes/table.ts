// The volumes table: one row per named or anonymous volume; its data lives on disk (paths.ts).
import type { StateStore } from '../state/store.js';

/** A volume as stored: the local driver's options as given (type, device, o) and its labels. */
export interface VolumeRow {
  name: string;
  driver: 'local';
  createdAt: number;
  /** made for one container by `-v /path` or `--mount type=volume,target=...`: `rm -v` removes it */
  anonymous: boolean;
  options: Record<string, string>;
  labels: Record<string, string>;
}

interface RawVolume {
  name: string;
  driver: 'local';
  created_at: number;
  anonymous: number;
  options: string;
  labels: string;
}

const toVolume = (r: RawVolume): VolumeRow => ({
  name: r.name,
  driver: r.driver,
  createdAt: r.created_at,
  anonymous: r.anonymous === 1,
  options: JSON.parse(r.options),
  labels: JSON.parse(r.labels),
});

/** SQL access to the volumes table of one state store. */
export class VolumeTable {
  constructor(private readonly store: StateStore) {}

  /** Insert a volume; false when one of that name exists already (it is kept as it is). */
  insert(v: VolumeRow): boolean {
    const r = this.store.db
      .prepare('INSERT OR IGNORE INTO volumes (name, driver, created_at, anonymous, options, labels) VALUES (?, ?, ?, ?, ?, ?)')
      .run(v.name, v.driver, v.createdAt, v.anonymous ? 1 : 0, JSON.stringify(v.options), JSON.stringify(v.labels));
    return r.changes === 1;
  }

  /** A volume by name. */
  get(name: string): VolumeRow | undefined {
    const r = this.store.db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as RawVolume | undefined;
    return r && toVolume(r);
  }

  /** Every volume, by name. */
  list(): VolumeRow[] {
    return (this.store.db.prepare('SELECT * FROM volumes ORDER BY name').all() as RawVolume[]).map(toVolume);
  }

  /** Delete a volume's row. */
  delete(name: string): void {
    this.store.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
  }
}
