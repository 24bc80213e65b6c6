// The engine's image calls: rootfs imports, and OCI images (pull, push, load, save, tag, rmi, prune, login).
import { resolve } from 'node:path';
import type { ContainerConfig } from '../config/schema.js';
import type { Credentials } from '../images/auth.js';
import { applyImageConfig } from '../images/config.js';
import { commitContainer } from '../images/commit.js';
import { importLayer } from '../images/import-layer.js';
import { EngineError } from '../errors.js';
import { STRICT_ID_BASE } from '../runtime/plan.js';
import { refuseRootless } from '../runtime/rootless.js';
import { idRangeOf } from '../state/idranges.js';
import { importImage, removeImage } from '../images/importer.js';
import { ImageService, type RegistryFlags } from '../images/service.js';
import { isPathRef, listImages, resolveImage } from '../images/store.js';
import type { ImageRow } from '../state/types.js';
import type { EngineCore } from './core.js';
import { pruneFilter, type PruneFilters } from './prunefilter.js';

/** Import a root filesystem tarball (a path relative to the caller's directory) as a named image. */
export function importImageFile(core: EngineCore, file: string, name: string): Promise<ImageRow> {
  return importImage(core.store, core.settings.storageDir, resolve(file), name);
}

/** The built-in, imported and OCI images. */
export function imageList(core: EngineCore): ReturnType<typeof listImages> {
  return listImages(core.store);
}

/** Remove an imported image no container uses. */
export function removeImageNamed(core: EngineCore, name: string): void {
  removeImage(core.store, core.settings.storageDir, name);
}

/** A create's input with its OCI image's config merged under the user's flags (other images: unchanged). */
export function withImageConfig(core: EngineCore, input: ContainerConfig, cwd?: string): ContainerConfig {
  const ref = input.image;
  if (!ref || ref === 'host' || isPathRef(ref, cwd) || core.store.getImage(ref)) return input;
  const image = resolveImage(core.store, ref, cwd);
  if (image.kind !== 'oci') return input;
  return applyImageConfig(input, new ImageService(core.store, core.settings.storageDir).get(image.id!), image.layers ?? []);
}

/** OCI images as the engine offers them: every call that removes checks the containers first. */
export class EngineImages {
  private readonly svc: ImageService;
  constructor(private readonly core: EngineCore) {
    this.svc = new ImageService(core.store, core.settings.storageDir);
  }

  /** Names of the containers created from image id. */
  private usedBy = (id: string): string[] => this.core.store.listContainers().filter((c) => c.config.imageId === id).map((c) => c.name);

  /** Pull a reference from its registry. */
  pull(ref: string, flags: RegistryFlags = {}) {
    return this.svc.pull(ref, flags);
  }

  /** Push a stored image, to target when given. */
  push(source: string, target: string | undefined, flags: RegistryFlags = {}) {
    return this.svc.push(source, target, flags);
  }

  /** Load a docker-archive or oci-archive file (relative to the caller's directory). */
  load(file: string) {
    return this.svc.load(resolve(file));
  }

  /** Save images as a docker-archive at file. */
  save(refs: string[], file: string) {
    return this.svc.save(refs, resolve(file));
  }

  /** Name an image anew; returns the normalised name. */
  tag(source: string, target: string): string {
    return this.svc.tag(source, target);
  }

  /** Remove images or their names (refused while used unless force); returns docker's Untagged/Deleted lines. */
  remove(refs: string[], force = false): string[] {
    return refs.flatMap((r) => this.svc.remove(r, force, this.usedBy));
  }

  /** Remove unused untagged images (all unused with all); returns their ids. */
  prune(all = false): string[] {
    return this.svc.prune(all, this.usedBy);
  }

  /**
   * prune with docker's filters (until, label, label!, dangling=false meaning tagged ones too):
   * the ids removed and the bytes of the images they were.
   */
  pruneWith(options: { all?: boolean; filters?: PruneFilters } = {}): { deleted: string[]; reclaimed: number } {
    const keep = pruneFilter(options.filters, ['until', 'label', 'label!', 'dangling']);
    const all = !!options.all || options.filters?.dangling?.every((d) => d === 'false' || d === '0') === true;
    const sizes = new Map(this.svc.catalog.list().map((i) => [i.id, i.doc.size]));
    const deleted = this.svc.prune(all, this.usedBy, (img) => keep({ createdAt: Date.parse(img.doc.config.created ?? '') || img.createdAt, labels: img.doc.config.config?.Labels ?? {}, dangling: !img.tags.length }));
    return { deleted, reclaimed: deleted.reduce((n, id) => n + (sizes.get(id) ?? 0), 0) };
  }

  /** Remove the build cache: the untagged images `build` keeps for its cached steps that no container uses. */
  pruneBuildCache(): { deleted: string[]; reclaimed: number } {
    const sizes = new Map(this.svc.catalog.list().map((i) => [i.id, i.doc.size]));
    const deleted = this.svc.prune(false, this.usedBy, (img) => !!img.doc.build);
    return { deleted, reclaimed: deleted.reduce((n, id) => n + (sizes.get(id) ?? 0), 0) };
  }

  /** Every OCI image with its size, tags and the containers created from it (system df). */
  usage(): Array<{ id: string; tags: string[]; size: number; createdAt: number; containers: string[] }> {
    return this.svc.catalog.list().map((i) => ({ id: i.id, tags: i.tags, size: i.doc.size, createdAt: i.createdAt, containers: this.usedBy(i.id) }));
  }

  /** The image's build steps, newest first (docker history): from its config's history, matched to its layers. */
  history(ref: string): Array<{ id: string; created: number; createdBy: string; size: number; comment: string; tags: string[] }> {
    const img = this.svc.get(ref);
    const steps = img.doc.config.history?.length ? img.doc.config.history : img.doc.layers.map(() => ({}));
    const out = [];
    let layer = 0;
    for (const h of steps as Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>) {
      const size = h.empty_layer ? 0 : (img.doc.layers[layer++]?.size ?? 0);
      out.push({ id: '<missing>', created: Date.parse(h.created ?? '') || 0, createdBy: h.created_by ?? '', size, comment: h.comment ?? '', tags: [] as string[] });
    }
    out.reverse();
    if (out[0]) Object.assign(out[0], { id: img.id, tags: img.tags });
    return out;
  }

  /** docker image inspect's shape. */
  inspect(ref: string) {
    const img = this.svc.get(ref);
    const c = img.doc.config;
    return {
      Id: img.id,
      RepoTags: img.tags,
      RepoDigests: img.doc.repoDigests,
      Created: c.created ?? new Date(img.createdAt).toISOString(),
      Architecture: c.architecture,
      Os: c.os,
      Size: img.doc.size,
      Config: c.config ?? {},
      RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
      Manifest: { Digest: img.doc.manifestDigest, MediaType: img.doc.manifestMediaType },
      UsedBy: this.usedBy(img.id),
    };
  }

  /** Check and keep credentials for a registry; returns its normalised name. */
  login(registry: string, credentials: Credentials, flags: RegistryFlags = {}) {
    return this.svc.login(registry, credentials, flags);
  }

  /** A container's changes as a new image on its own (OCI) image; the container's settings become its config. */
  async commit(containerRef: string, target: string) {
    refuseRootless('commit');
    const row = this.core.get(containerRef);
    if (!row.config.imageId) throw new EngineError('INVALID_CONFIG', `Expected a container created from an OCI image, got \`${row.name}\` on ${row.config.image}. Only OCI images have layers to add to.`);
    const base = this.svc.get(row.config.imageId);
    const c = row.config;
    const env = { ...c.env };
    if (c.port !== undefined) delete env.PORT; // given by codex32 at create, not part of the image
    return commitContainer(this.svc, base, {
      upper: this.core.paths(row.id).upper,
      offset: c.isolation === 'strict' ? idRangeOf(this.core.store, row.id) ?? STRICT_ID_BASE : 0,
      container: { entrypoint: c.entrypoint, command: c.command, env, workdir: c.workdir, user: c.user, labels: c.labels },
    }, target);
  }

  /** A root filesystem tarball as a one-layer OCI image named target (docker import). */
  importTar(file: string, target: string) {
    refuseRootless('import');
    return importLayer(this.svc, resolve(file), target);
  }

  /** Forget a registry's credentials. */
  logout(registry: string): void {
    this.svc.logout(registry);
  }

}
