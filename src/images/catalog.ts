// The image catalog in SQLite: OCI images, their tags, the layers they share and the blobs they keep.
import { EngineError } from '../errors.js';
import type { StateStore } from '../state/store.js';
import type { ImageConfig } from './manifest.js';
import { formatReference, parseReference, repoName } from './reference.js';

export interface LayerRef {
  /** the blob as stored (compressed or not) */
  digest: string;
  mediaType: string;
  size: number;
  diffId: string;
}

export interface OciImageDoc {
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  layers: LayerRef[];
  config: ImageConfig;
  /** bytes of file content over all layers */
  size: number;
  /** repo@digest names the image was pulled or pushed as */
  repoDigests: string[];
  /** images a build made: the cache key of the step that made it (src/build/cache.ts) */
  build?: { key: string };
}

export interface OciImage {
  id: string;
  createdAt: number;
  doc: OciImageDoc;
  tags: string[];
}

export interface NewImage {
  id: string;
  doc: OciImageDoc;
  layers: Array<{ diffId: string; size: number; devices: number }>;
  blobs: string[];
  tags: string[];
}

type Raw = { id: string; created_at: number; doc: string };

/** Read and write image records; every write is one transaction. */
export class ImageCatalog {
  constructor(readonly store: StateStore) {}

  private get db() {
    return this.store.db;
  }

  private toImage(r: Raw): OciImage {
    const tags = (this.db.prepare('SELECT name FROM image_tags WHERE image_id = ? ORDER BY name').all(r.id) as Array<{ name: string }>).map((t) => t.name);
    return { id: r.id, createdAt: r.created_at, doc: JSON.parse(r.doc), tags };
  }

  /** Record an image with its layers, blobs and tags (a tag held by another image moves here). */
  register(img: NewImage): OciImage {
    return this.store.tx(() => {
      const existing = this.db.prepare('SELECT * FROM oci_images WHERE id = ?').get(img.id) as Raw | undefined;
      if (existing) {
        const doc = JSON.parse(existing.doc) as OciImageDoc;
        doc.repoDigests = [...new Set([...doc.repoDigests, ...img.doc.repoDigests])];
        this.db.prepare('UPDATE oci_images SET doc = ? WHERE id = ?').run(JSON.stringify(doc), img.id);
      } else {
        this.db.prepare('INSERT INTO oci_images (id, created_at, doc) VALUES (?, ?, ?)').run(img.id, Date.now(), JSON.stringify(img.doc));
        const layer = this.db.prepare('INSERT OR IGNORE INTO layers (diff_id, size, devices) VALUES (?, ?, ?)');
        const link = this.db.prepare('INSERT INTO image_layers (image_id, position, diff_id) VALUES (?, ?, ?)');
        img.layers.forEach((l, i) => {
          layer.run(l.diffId, l.size, l.devices);
          link.run(img.id, i, l.diffId);
        });
      }
      const blob = this.db.prepare('INSERT OR IGNORE INTO image_blobs (image_id, digest) VALUES (?, ?)');
      for (const b of img.blobs) blob.run(img.id, b);
      for (const t of img.tags) this.db.prepare('INSERT INTO image_tags (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id').run(t, img.id);
      return this.toImage(this.db.prepare('SELECT * FROM oci_images WHERE id = ?').get(img.id) as Raw);
    });
  }

  /** An image by id. */
  get(id: string): OciImage | undefined {
    const r = this.db.prepare('SELECT * FROM oci_images WHERE id = ?').get(id) as Raw | undefined;
    return r && this.toImage(r);
  }

  /**
   * Find an image the way docker does: a tag (normalised), a repo@digest, or an id (with or without
   * sha256:, at least 3 hex digits, unique). Undefined when nothing matches.
   */
  find(ref: string): OciImage | undefined {
    let parsed;
    try {
      parsed = parseReference(ref);
    } catch {
      parsed = undefined;
    }
    if (parsed?.tag) {
      const r = this.db.prepare('SELECT image_id FROM image_tags WHERE name = ?').get(formatReference(parsed)) as { image_id: string } | undefined;
      if (r) return this.get(r.image_id);
    } else if (parsed?.digest) {
      const want = `${repoName(parsed)}@${parsed.digest}`;
      return this.list().find((i) => i.doc.repoDigests.includes(want) || i.doc.manifestDigest === parsed.digest);
    }
    const hex = /^(sha256:)?([a-f0-9]{3,64})$/.exec(ref);
    if (!hex) return undefined;
    const rows = this.db.prepare("SELECT * FROM oci_images WHERE id GLOB ?").all(`sha256:${hex[2]}*`) as Raw[];
    if (rows.length > 1) throw new EngineError('AMBIGUOUS_ID', `The image id prefix ${ref} matches more than one image. Give more of the id.`);
    return rows[0] && this.toImage(rows[0]);
  }

  /** All images, newest first. */
  list(): OciImage[] {
    return (this.db.prepare('SELECT * FROM oci_images ORDER BY created_at DESC').all() as Raw[]).map((r) => this.toImage(r));
  }

  /** Point tag name (normalised repo:tag) at image id. */
  tag(name: string, id: string): void {
    this.store.tx(() => this.db.prepare('INSERT INTO image_tags (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id').run(name, id));
  }

  /** Remove a tag; true when it existed. */
  untag(name: string): boolean {
    return this.store.tx(() => this.db.prepare('DELETE FROM image_tags WHERE name = ?').run(name).changes > 0);
  }

  /**
   * Delete an image record and return what no remaining image uses: layer DiffIDs and blob digests.
   * The caller removes those files after the transaction, so a crash leaves files, never dangling rows.
   */
  delete(id: string): { layers: string[]; blobs: string[] } {
    return this.store.tx(() => {
      const layers = (this.db.prepare('SELECT DISTINCT diff_id FROM image_layers WHERE image_id = ?').all(id) as Array<{ diff_id: string }>).map((r) => r.diff_id);
      const blobs = (this.db.prepare('SELECT digest FROM image_blobs WHERE image_id = ?').all(id) as Array<{ digest: string }>).map((r) => r.digest);
      this.db.prepare('DELETE FROM image_tags WHERE image_id = ?').run(id);
      this.db.prepare('DELETE FROM oci_images WHERE id = ?').run(id);
      const freeLayers = layers.filter((d) => !this.db.prepare('SELECT 1 FROM image_layers WHERE diff_id = ?').get(d));
      for (const d of freeLayers) this.db.prepare('DELETE FROM layers WHERE diff_id = ?').run(d);
      const freeBlobs = blobs.filter((d) => !this.db.prepare('SELECT 1 FROM image_blobs WHERE digest = ?').get(d));
      return { layers: freeLayers, blobs: freeBlobs };
    });
  }

  /** Layers an image is made of, bottom first, with whether any holds device nodes. */
  layers(id: string): Array<{ diffId: string; size: number; devices: number }> {
    return (this.db.prepare('SELECT l.diff_id AS diffId, l.size AS size, l.devices AS devices FROM image_layers il JOIN layers l ON l.diff_id = il.diff_id WHERE il.image_id = ? ORDER BY il.position').all(id)) as Array<{ diffId: string; size: number; devices: number }>;
  }

  /** Every layer DiffID and blob digest some image uses (for sweeping files left by interrupted work). */
  inUse(): { layers: Set<string>; blobs: Set<string> } {
    const layers = new Set((this.db.prepare('SELECT diff_id FROM layers').all() as Array<{ diff_id: string }>).map((r) => r.diff_id));
    const blobs = new Set((this.db.prepare('SELECT DISTINCT digest FROM image_blobs').all() as Array<{ digest: string }>).map((r) => r.digest));
    return { layers, blobs };
  }
}
