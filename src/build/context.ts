// The build context: .dockerignore, COPY sources (globs) resolved inside a root, their content hash, and the copy itself.
import ignoreModule from '@balena/dockerignore';
import picomatch from 'picomatch';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, symlinkSync, utimesSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { EngineError } from '../errors.js';

/** A directory COPY reads from: the build context (with its .dockerignore) or another stage's root. */
export interface SourceRoot {
  dir: string;
  /** true for paths .dockerignore excludes (relative, no leading slash) */
  ignores(rel: string): boolean;
  /** how errors name it */
  label: string;
}

/** The context directory with its .dockerignore applied. */
export function contextRoot(dir: string): SourceRoot {
  let text = '';
  try {
    text = readFileSync(join(dir, '.dockerignore'), 'utf8');
  } catch {
    /* no .dockerignore: everything is sent */
  }
  const ig = dockerignore({ ignorecase: false }).add(text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  return { dir, ignores: (rel) => rel !== '' && ig.ignores(rel), label: 'the build context' };
}

/** A stage's merged root filesystem (nothing ignored). */
export function stageRoot(dir: string, name: string): SourceRoot {
  return { dir, ignores: () => false, label: `stage ${name}` };
}

/** One thing a COPY writes: src (absolute, on the host) to dest (relative to the new layer's root). */
export interface CopyEntry {
  src: string;
  dest: string;
  st: Stats;
  /** named by the instruction itself, not found inside a named directory (ADD unpacks only those) */
  top?: boolean;
}

// a CommonJS module whose typings declare an ES default export
const dockerignore = ignoreModule as unknown as typeof ignoreModule.default;

const GLOB = /[*?[\]]/;

/**
 * Resolve rel inside root as if root were /: `..` stops at the root, symlinks are followed inside it, so
 * no source reaches outside (a link to /etc in a stage means the stage's /etc, never the host's).
 */
export function resolveInside(root: string, rel: string, followLast: boolean): string {
  const parts = posix.normalize('/' + rel).split('/').filter(Boolean);
  const done: string[] = [];
  for (let hops = 0, i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p === '..') { done.pop(); continue; }
    if (p === '.') continue;
    const st = lstatSync(join(root, ...done, p), { throwIfNoEntry: false });
    if (st?.isSymbolicLink() && (followLast || i < parts.length - 1)) {
      if (++hops > 40) throw new EngineError('INVALID_CONFIG', `Too many symbolic links in ${rel}`);
      const target = readlinkSync(join(root, ...done, p));
      if (target.startsWith('/')) done.length = 0;
      parts.splice(i + 1, 0, ...target.split('/').filter(Boolean));
      continue;
    }
    done.push(p);
  }
  return done.join('/');
}

/** Every path under base (relative to root), not ignored, depth first. */
function walk(root: SourceRoot, base: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(join(root.dir, base)).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const rel = base ? `${base}/${n}` : n;
    const ignored = root.ignores(rel);
    const st = lstatSync(join(root.dir, rel));
    if (!ignored) out.push(rel);
    if (st.isDirectory()) walk(root, rel, out); // an exception (!pattern) may bring back a child of an ignored dir
  }
}

/** The paths (relative to root) a COPY source names: itself, or its glob's matches; none found is an error. */
function matchSource(root: SourceRoot, source: string, keyword: string): string[] {
  const clean = posix.normalize('/' + source).slice(1).replace(/\/$/, '');
  if (!GLOB.test(clean)) {
    const rel = resolveInside(root.dir, clean, true);
    if (!lstatSync(join(root.dir, rel), { throwIfNoEntry: false }) || root.ignores(rel))
      throw new EngineError('INVALID_CONFIG', `${keyword} failed: ${source} is not in ${root.label}${root.label === 'the build context' ? ' (or .dockerignore excludes it)' : ''}`);
    return [rel];
  }
  const parts = clean.split('/');
  const firstGlob = parts.findIndex((p) => GLOB.test(p));
  const base = resolveInside(root.dir, parts.slice(0, firstGlob).join('/'), true);
  const pattern = [base, ...parts.slice(firstGlob)].filter(Boolean).join('/');
  const isMatch = picomatch(pattern, { dot: true });
  const all: string[] = [];
  walk(root, base, all);
  const found = all.filter((p) => isMatch(p));
  if (!found.length) throw new EngineError('INVALID_CONFIG', `${keyword} failed: no source files were specified: nothing in ${root.label} matches ${source}`);
  return found;
}

/**
 * What COPY SRC... DEST writes, docker's rules: a directory's contents (not the directory) go into
 * DEST; a file goes to DEST, or into it when DEST ends with `/` or is a directory (destIsDir); several
 * sources need a directory DEST. dest is absolute in the image.
 */
export function copyEntries(root: SourceRoot, sources: string[], dest: string, destIsDir: boolean, keyword: string): CopyEntry[] {
  const matches = sources.flatMap((s) => matchSource(root, s, keyword));
  const intoDir = dest.endsWith('/') || destIsDir;
  if (matches.length > 1 && !intoDir)
    throw new EngineError('INVALID_CONFIG', `${keyword} failed: with more than one source the destination must be a directory and end with a /, got \`${dest}\``);
  const destRel = posix.normalize(dest).replace(/^\/+/, '').replace(/\/$/, '');
  const out: CopyEntry[] = [];
  for (const m of matches) {
    const src = join(root.dir, m);
    const st = lstatSync(src);
    if (st.isDirectory()) {
      const below: string[] = [];
      walk(root, m, below);
      // the directory itself is not copied: DEST keeps its own attributes, or is made like any parent
      for (const b of below) out.push({ src: join(root.dir, b), dest: posix.join(destRel, b.slice(m.length + (m ? 1 : 0))), st: lstatSync(join(root.dir, b)) });
    } else out.push({ src, dest: intoDir ? posix.join(destRel, posix.basename(m)) : destRel, st, top: true });
  }
  return out;
}

/** sha256 of a file, read a megabyte at a time (a context may hold files larger than memory). */
function fileDigest(file: string): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  const fd = openSync(file, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** A digest of what entries would write: paths, types, modes and contents (times and owners left out, as docker's cache does). */
export function hashEntries(entries: CopyEntry[], extra = ''): string {
  const h = createHash('sha256').update(extra);
  for (const e of entries) {
    const kind = e.st.isDirectory() ? 'd' : e.st.isSymbolicLink() ? 'l' : 'f';
    h.update(`\0${e.dest}\0${kind}\0${e.st.mode & 0o7777}\0`);
    if (kind === 'l') h.update(readlinkSync(e.src));
    else if (kind === 'f') h.update(fileDigest(e.src));
  }
  return h.digest('hex');
}

/**
 * The host path of rel in a new layer's directory, checked so that no write goes through a symbolic link
 * an earlier entry made there (two sources can give a link and a directory the same name).
 */
export function layerPath(layer: string, rel: string): string {
  const parts = rel.split('/').filter(Boolean);
  for (let i = 1; i < parts.length; i++)
    if (lstatSync(join(layer, ...parts.slice(0, i)), { throwIfNoEntry: false })?.isSymbolicLink())
      throw new EngineError('INVALID_CONFIG', `Cannot copy ${rel}: /${parts.slice(0, i).join('/')} is a symbolic link this step also copies`);
  return join(layer, ...parts);
}

/** Copy entries under layer (a new layer's root), owned by owner; modes and times kept; parents already made. */
export function copyInto(layer: string, entries: CopyEntry[], owner: { uid: number; gid: number }): void {
  for (const e of entries) {
    const to = layerPath(layer, e.dest);
    mkdirSync(join(to, '..'), { recursive: true });
    const old = lstatSync(to, { throwIfNoEntry: false });
    if (old && !(old.isDirectory() && e.st.isDirectory())) rmSync(to, { recursive: true, force: true }); // a later source wins, never written through
    if (e.st.isDirectory()) mkdirSync(to, { recursive: true });
    else if (e.st.isSymbolicLink()) symlinkSync(readlinkSync(e.src), to);
    else if (e.st.isFile()) copyFileSync(e.src, to);
    else throw new EngineError('INVALID_CONFIG', `Cannot copy ${e.dest}: only files, directories and symbolic links can be copied`);
    lchownSync(to, owner.uid, owner.gid);
    if (!e.st.isSymbolicLink()) {
      chmodSync(to, e.st.mode & 0o7777);
      utimesSync(to, e.st.atime, e.st.mtime);
    }
  }
}
