// Image references: a script or directory path, the built-in `host`, or a rootfs imported into the store.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { cp } from '../lazy.js';
import { basename, dirname, extname, resolve } from 'node:path';
import { EngineError } from '../errors.js';
import type { StateStore } from '../state/store.js';
import { ImageCatalog } from './catalog.js';
import { layerDir } from './layers.js';
import type { ImageConfig } from './manifest.js';
import { displayRepo, splitTagged } from './reference.js';

export interface ContainerImage {
  /** how the user named it */
  ref: string;
  kind: 'host' | 'path' | 'rootfs' | 'oci';
  /** host path whose content becomes /app (path images) */
  source?: string;
  /** the file to run when no command is given, relative to /app */
  entry?: string;
  /** imported rootfs directory (rootfs images) */
  rootfs?: string;
  /** OCI images: the image id, its unpacked layer directories (bottom first) and its config */
  id?: string;
  layers?: string[];
  config?: ImageConfig;
  /** OCI images: how many device nodes the layers hold */
  devices?: number;
}

const INTERPRETERS: Record<string, string[]> = {
  '.py': ['python3', '-u'],
  '.js': ['node'],
  '.mjs': ['node'],
  '.cjs': ['node'],
  '.sh': ['sh'],
};

const DIR_ENTRIES = ['main.py', 'bot.py', 'app.py', '__main__.py', 'index.js', 'main.js', 'bot.js', 'index.mjs', 'main.sh', 'start.sh'];

/**
 * True when ref names a path rather than a stored image: it starts with / or ., or contains a slash
 * and exists on disk (so `127.0.0.1:5000/team/bot:1` is an image reference, `bots/echo` a path).
 */
export function isPathRef(ref: string, cwd = process.cwd()): boolean {
  if (ref.startsWith('/') || ref.startsWith('./') || ref.startsWith('../') || ref === '.' || ref === '..' || ref.startsWith('~')) return true;
  return ref.includes('/') && existsSync(resolve(cwd, ref));
}

/** The image a stored container runs on: pinned by id for OCI images, so a moved tag does not change it. */
export function imageFor(store: StateStore, config: { image: string; imageId?: string }): ContainerImage {
  return resolveImage(store, config.imageId ?? config.image);
}

/** Resolve a user's image reference to what the runtime needs. */
export function resolveImage(store: StateStore, ref: string, cwd = process.cwd()): ContainerImage {
  if (ref === 'host') return { ref, kind: 'host' };
  if (isPathRef(ref, cwd)) {
    const source = resolve(cwd, ref);
    let st;
    try {
      st = statSync(source);
    } catch {
      throw new EngineError('NO_SUCH_IMAGE', `The image path ${ref} does not exist. Give a script such as ./bots/heartbeat.py or a directory.`, { context: { path: source } });
    }
    if (st.isFile()) return { ref, kind: 'path', source, entry: basename(source) };
    if (st.isDirectory()) {
      const entry = DIR_ENTRIES.find((f) => existsSync(`${source}/${f}`)) ?? packageMain(source);
      return { ref, kind: 'path', source, entry };
    }
    throw new EngineError('NO_SUCH_IMAGE', `The image path ${ref} is neither a file nor a directory.`, { context: { path: source } });
  }
  const row = store.getImage(ref);
  if (!row) {
    const oci = new ImageCatalog(store).find(ref);
    if (oci) {
      const storageDir = dirname(store.db.name); // the database lives at the top of the storage directory
      const layers = new ImageCatalog(store).layers(oci.id);
      return { ref, kind: 'oci', id: oci.id, config: oci.doc.config, layers: layers.map((l) => layerDir(storageDir, l.diffId)), devices: layers.reduce((n, l) => n + l.devices, 0) };
    }
    throw new EngineError('NO_SUCH_IMAGE', `No image named \`${ref}\`. Run \`codex32 images\` to list them, \`codex32 pull ${ref}\`, or give a path such as ./bots/heartbeat.py.`);
  }
  if (row.kind === 'builtin') return { ref, kind: 'host' };
  return { ref, kind: 'rootfs', rootfs: row.doc.path };
}

export interface ImageListing {
  /** what to type to use it: `host`, an imported name, or repo:tag */
  name: string;
  kind: string;
  repository: string;
  tag: string;
  id?: string;
  createdAt?: number;
  size?: number;
  files?: number;
  /** the image config's labels (OCI images) */
  labels?: Record<string, string>;
}

/** The images a user can name: the built-in host image, imported ones, and every tag of an OCI image. */
export function listImages(store: StateStore): ImageListing[] {
  const out: ImageListing[] = [{ name: 'host', kind: 'builtin', repository: 'host', tag: '<builtin>' }];
  for (const i of store.listImages()) out.push({ name: i.name, kind: i.kind, repository: i.name, tag: '<imported>', createdAt: i.createdAt, size: i.doc.size, files: i.doc.files });
  for (const img of new ImageCatalog(store).list()) {
    const created = img.doc.config.created ? Date.parse(img.doc.config.created) : img.createdAt;
    const base = { kind: 'oci', id: img.id, createdAt: Number.isNaN(created) ? img.createdAt : created, size: img.doc.size, labels: img.doc.config.config?.Labels ?? {} };
    // a build's intermediate images (its cache) are not listed, as docker lists them only with -a
    if (!img.tags.length && !img.doc.build) out.push({ ...base, name: img.id, repository: '<none>', tag: '<none>' });
    for (const t of img.tags) {
      const { repo, tag } = splitTagged(t);
      out.push({ ...base, name: `${displayRepo(repo)}:${tag}`, repository: displayRepo(repo), tag });
    }
  }
  return out;
}

function packageMain(dir: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { main?: string };
    return pkg.main;
  } catch {
    return undefined;
  }
}

/** The command that runs entry when the user gave none: its shebang, else its extension's interpreter. */
export function inferCommand(image: ContainerImage, appRoot: string): string[] | undefined {
  if (!image.entry) return undefined;
  const file = image.source && image.kind === 'path' && statSync(image.source).isFile() ? image.source : `${image.source}/${image.entry}`;
  const target = `${appRoot}/${image.entry}`;
  let head = '';
  try {
    head = readFileSync(file, { encoding: 'latin1' }).slice(0, 256);
  } catch {
    /* unreadable: fall back to the extension */
  }
  if (head.startsWith('#!')) {
    const parts = head.slice(2).split('\n')[0].trim().split(/\s+/).filter(Boolean);
    // `#!/usr/bin/env python3` runs python3 from the container's PATH; other shebangs name the interpreter
    if (parts[0] === '/usr/bin/env' && parts[1]) return [...parts.slice(1), target];
    if (parts[0]) return [...parts, target];
  }
  const interp = INTERPRETERS[extname(image.entry)];
  return interp ? [...interp, target] : [target];
}

/** Put the image's content into the container's app directory (a private copy per container). */
export async function populateApp(image: ContainerImage, appDir: string): Promise<void> {
  mkdirSync(appDir, { recursive: true, mode: 0o755 });
  if (image.kind !== 'path' || !image.source) return;
  const st = statSync(image.source);
  // asynchronous: a synchronous copy of a big app blocks the event loop of whoever embeds the engine
  if (st.isFile()) await cp(image.source, `${appDir}/${basename(image.source)}`, { preserveTimestamps: true });
  else await cp(image.source, appDir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
}

/** Directory of a stored image's root filesystem. */
export function imageDir(storageDir: string, name: string): string {
  return `${storageDir}/images/${name}/rootfs`;
}
