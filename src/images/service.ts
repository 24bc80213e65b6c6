// The image store as one object: load, save, tag, remove, prune and look up OCI images.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import type { StateStore } from '../state/store.js';
import { loadArchive } from './archive-load.js';
import { saveArchive } from './archive-save.js';
import { BlobStore, ociPaths } from './blobs.js';
import { ImageCatalog, type OciImage } from './catalog.js';
import { removeLayerDir } from './layers.js';
import { getCredentials, removeCredentials, saveCredentials, type Credentials } from './auth.js';
import { pull, type PullEvent } from './pull.js';
import { push } from './push.js';
import { formatReference, parseReference } from './reference.js';
import { RegistryClient } from './registry.js';

export interface RegistryFlags {
  tlsVerify?: boolean;
  /** for this call only, instead of the stored login (docker's X-Registry-Auth) */
  credentials?: Credentials;
  onEvent?: (e: PullEvent) => void;
}

/** The OCI image store of one storage directory. */
export class ImageService {
  readonly blobs: BlobStore;
  readonly catalog: ImageCatalog;

  constructor(
    readonly store: StateStore,
    readonly storageDir: string,
  ) {
    this.blobs = new BlobStore(storageDir);
    this.catalog = new ImageCatalog(store);
  }

  /**
   * Run an operation that writes blobs and layers; if it fails, remove what it wrote that no
   * registered image uses, so a failure leaves the store as it was.
   */
  async guarded<T>(fn: () => Promise<T>): Promise<T> {
    this.blobs.journal.blobs.clear();
    this.blobs.journal.layers.clear();
    try {
      return await fn();
    } catch (e) {
      const used = this.catalog.inUse();
      for (const b of this.blobs.journal.blobs) if (!used.blobs.has(b)) this.blobs.remove(b);
      for (const l of this.blobs.journal.layers) if (!used.layers.has(l)) removeLayerDir(this.storageDir, l);
      throw e;
    }
  }

  /** An image by reference (tag, repo@digest or id prefix); NO_SUCH_IMAGE when absent. */
  get(ref: string): OciImage {
    const img = this.catalog.find(ref);
    if (!img) throw new EngineError('NO_SUCH_IMAGE', `No image \`${ref}\`. Run \`codex32 images\` to list them, or \`codex32 pull ${ref}\`.`);
    return img;
  }

  private client(registry: string, repository: string, flags: RegistryFlags, actions: 'pull' | 'pull,push', credentials?: Credentials): RegistryClient {
    return new RegistryClient(registry, repository, { tlsVerify: flags.tlsVerify ?? true, actions, credentials: credentials ?? flags.credentials ?? getCredentials(this.storageDir, registry) });
  }

  /** Pull ref from its registry (docker's name normalisation; loopback registries over HTTP). */
  pull(refText: string, flags: RegistryFlags = {}): Promise<OciImage> {
    const ref = parseReference(refText);
    const client = this.client(ref.registry, ref.repository, flags, 'pull');
    return this.guarded(() => pull({ storageDir: this.storageDir, blobs: this.blobs, catalog: this.catalog }, client, ref, flags.onEvent ?? (() => undefined)));
  }

  /** Push a stored image to target (default: its own name); returns the manifest digest. */
  async push(source: string, target: string | undefined, flags: RegistryFlags = {}): Promise<{ name: string; digest: string }> {
    const image = this.get(source);
    const ref = parseReference(target ?? source);
    if (!ref.tag) throw new EngineError('INVALID_CONFIG', `Expected the push destination to carry a tag such as 127.0.0.1:5000/team/bot:1.0, got \`${target ?? source}\``);
    const client = this.client(ref.registry, ref.repository, flags, 'pull,push');
    const digest = await push(this.blobs, client, image, ref, flags.onEvent ?? (() => undefined));
    return { name: formatReference(ref), digest };
  }

  /** Check credentials against a registry, then keep them (readable by root only). */
  async login(registryText: string, credentials: Credentials, flags: RegistryFlags = {}): Promise<string> {
    const registry = registryText === 'docker.io' || registryText === 'index.docker.io' || registryText === 'registry-1.docker.io' ? 'docker.io' : registryText.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    if (!/^[a-zA-Z0-9.[\]:-]+$/.test(registry)) throw new EngineError('INVALID_CONFIG', `Expected a registry such as 127.0.0.1:5000 or ghcr.io, got \`${registryText}\``);
    if (!credentials.username || !credentials.password) throw new EngineError('INVALID_CONFIG', 'Expected a user name (-u) and a password (-p or --password-stdin), got an empty one');
    await this.client(registry, 'library/codex32-login', flags, 'pull', credentials).ping();
    saveCredentials(this.storageDir, registry, credentials);
    return registry;
  }

  /** Forget a registry's credentials. */
  logout(registry: string): void {
    if (!removeCredentials(this.storageDir, registry)) throw new EngineError('INVALID_CONFIG', `Expected a registry you are logged in to, got \`${registry}\``);
  }

  /** Load a docker-archive or oci-archive. */
  load(file: string): Promise<OciImage[]> {
    return this.guarded(() => loadArchive({ storageDir: this.storageDir, blobs: this.blobs, catalog: this.catalog }, file));
  }

  /** Save images as a docker-archive; a tag reference keeps its name, an id saves the image's tags. */
  save(refs: string[], file: string): Promise<void> {
    if (!refs.length) throw new EngineError('INVALID_CONFIG', 'Expected at least one IMAGE to save, got nothing');
    const items = refs.map((r) => {
      const image = this.get(r);
      const asTag = image.tags.find((t) => { try { return t === formatReference(parseReference(r)); } catch { return false; } });
      return { image, tags: asTag ? [asTag] : image.tags };
    });
    return saveArchive(this.storageDir, this.blobs, items, file);
  }

  /** Give the image source another name. */
  tag(source: string, target: string): string {
    const img = this.get(source);
    const ref = parseReference(target);
    if (!ref.tag || ref.digest) throw new EngineError('INVALID_CONFIG', `Expected the target to be a name with a tag such as team/bot:1.0, got \`${target}\``);
    const name = formatReference(ref);
    this.catalog.tag(name, img.id);
    return name;
  }

  /**
   * Remove an image name, or the image itself when no name remains. Refused while a container
   * uses the image unless force. usedBy lists the containers using an image id.
   */
  remove(ref: string, force: boolean, usedBy: (id: string) => string[]): string[] {
    const img = this.get(ref);
    const out: string[] = [];
    let tagRef: string | undefined;
    try {
      tagRef = formatReference(parseReference(ref));
    } catch {
      tagRef = undefined;
    }
    const byTag = tagRef && img.tags.includes(tagRef);
    if (byTag && img.tags.length > 1) {
      this.catalog.untag(tagRef!);
      return [`Untagged: ${tagRef}`];
    }
    const users = usedBy(img.id);
    if (users.length && !force)
      throw new EngineError('IMAGE_IN_USE', `The image ${ref} (${img.id.slice(7, 19)}) is used by ${users.join(', ')}. Remove those containers first, or use \`rmi -f\`.`);
    if (!byTag && img.tags.length > 1 && !force)
      throw new EngineError('IMAGE_IN_USE', `The image ${img.id.slice(7, 19)} has several names (${img.tags.join(', ')}). Remove them by name, or use \`rmi -f\`.`);
    for (const t of img.tags) out.push(`Untagged: ${t}`);
    if (users.length) {
      // forced while in use: docker keeps the image for its containers and only drops the names
      for (const t of img.tags) this.catalog.untag(t);
      return out;
    }
    this.drop(img.id);
    out.push(`Deleted: ${img.id}`);
    return out;
  }

  private drop(id: string): void {
    const free = this.catalog.delete(id);
    for (const l of free.layers) removeLayerDir(this.storageDir, l);
    for (const b of free.blobs) this.blobs.remove(b);
  }

  /** Remove untagged images no container uses (every unused image with all), and files no image uses. */
  prune(all: boolean, usedBy: (id: string) => string[], keep: (img: OciImage) => boolean = () => true): string[] {
    const removed: string[] = [];
    for (const img of this.catalog.list()) {
      if ((img.tags.length && !all) || usedBy(img.id).length || !keep(img)) continue;
      this.drop(img.id);
      removed.push(img.id);
    }
    this.sweep();
    return removed;
  }

  /**
   * Delete blobs, layers and temporary files no image records (what an interrupted process left).
   * Files younger than ten minutes are kept: a pull in another process may not have registered them yet.
   */
  private sweep(): void {
    const used = this.catalog.inUse();
    const p = ociPaths(this.storageDir);
    const old = (f: string) => Date.now() - (statSync(f, { throwIfNoEntry: false })?.ctimeMs ?? Date.now()) > 600_000;
    for (const f of safeList(p.blobs)) if (!used.blobs.has(`sha256:${f}`) && /^[a-f0-9]{64}$/.test(f) && old(join(p.blobs, f))) rmSync(join(p.blobs, f), { force: true });
    for (const f of safeList(p.layers)) if (!used.layers.has(`sha256:${f}`) && old(join(p.layers, f))) removeLayerDir(this.storageDir, `sha256:${f}`);
    for (const f of safeList(p.tmp)) if (!processAlive(Number(/-(\d+)-/.exec(f)?.[1]))) rmSync(join(p.tmp, f), { recursive: true, force: true });
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
