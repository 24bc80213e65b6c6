// Copy-up: an empty volume is first filled with what the image holds at its mount point, as docker does.
import { runFile } from '../runtime/command.js';
import { lstatSync, type Stats } from 'node:fs';
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, symlink, utimes } from '../lazy.js';
import { join } from 'node:path';
import { opaqueXattr } from '../runtime/rootless.js';

/** Directories marked opaque (overlay's opaque xattr, opaqueXattr) under dir: nothing below them shows through. */
async function opaqueDirs(dir: string): Promise<Set<string>> {
  const name = opaqueXattr();
  const out = await runFile('getfattr', ['-R', '-n', name, '--absolute-names', dir], { maxBuffer: 64 * 1024 * 1024 })
    .catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return new Set([...String(out.stdout).matchAll(/^# file: (.*)\n(.*)="y"/gm)].filter((m) => m[2] === name).map((m) => m[1]));
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/** Give dst src's owner (shifted by offset), mode and times. */
async function keepMeta(dst: string, st: Stats, offset: number): Promise<void> {
  await lchown(dst, st.uid + offset, st.gid + offset);
  if (st.isSymbolicLink()) return lutimes(dst, st.atime, st.mtime);
  await chmod(dst, st.mode & 0o7777); // after chown, which clears setuid and setgid
  await utimes(dst, st.atime, st.mtime);
}

/**
 * Copy the merged content of layers (top first) at rel into dest, as overlayfs would show it: an upper
 * entry hides lower ones, whiteouts delete, an opaque directory hides everything below it. Owners are
 * shifted by offset (strict's mapped ids); device nodes and sockets are skipped, hard links become copies.
 * Asynchronous, so a big copy does not stall whoever embeds the engine.
 */
async function mergeInto(layers: string[], rel: string, dest: string, offset: number, opaque: Array<Set<string>>): Promise<void> {
  const seen = new Map<string, { layer: number; st: Stats }>();
  for (let i = 0; i < layers.length; i++) {
    const dir = join(layers[i], rel);
    const st = await lstat(dir).catch(() => undefined);
    if (!st) continue;
    if (!st.isDirectory()) break; // a file or whiteout here hides the lower layers' directory
    for (const name of await readdir(dir)) if (!seen.has(name)) seen.set(name, { layer: i, st: await lstat(join(dir, name)) });
    if (opaque[i].has(dir)) break;
  }
  for (const [name, { layer, st }] of seen) {
    const src = join(layers[layer], rel, name);
    const dst = join(dest, name);
    if (isWhiteout(st)) continue;
    if (st.isDirectory()) {
      await mkdir(dst);
      await mergeInto(layers.slice(layer), join(rel, name), dst, offset, opaque.slice(layer));
      await keepMeta(dst, st, offset);
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(src), dst);
      await keepMeta(dst, st, offset);
    } else if (st.isFile()) {
      await copyFile(src, dst);
      await keepMeta(dst, st, offset);
    }
  }
}

/**
 * Fill data with what the image's layers (bottom first) hold at target, owners and modes kept; data
 * itself takes the owner and mode of the image's directory. Returns false when the image has no directory there.
 */
export async function copyUp(layersBottomFirst: string[], target: string, data: string, offset: number): Promise<boolean> {
  const layers = layersBottomFirst.slice().reverse();
  const rel = target.replace(/^\/+/, '');
  const top = layers.map((l) => lstatSync(join(l, rel), { throwIfNoEntry: false })).find((s) => s !== undefined);
  if (!top?.isDirectory()) return false;
  const opaque = await Promise.all(layers.map((l) => (lstatSync(join(l, rel), { throwIfNoEntry: false })?.isDirectory() ? opaqueDirs(join(l, rel)) : new Set<string>())));
  await mergeInto(layers, rel, data, offset, opaque);
  await keepMeta(data, top, offset);
  return true;
}
