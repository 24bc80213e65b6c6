// Unpack a layer once into its own directory, in the form overlayfs reads as a lower layer.
import { runFile } from '../runtime/command.js';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { opaqueXattr, rootlessHost } from '../runtime/rootless.js';
import { asContainerRoot, removeOwnedTree } from '../runtime/userns-run.js';
import { ociPaths, tempPath } from './blobs.js';
import { scanLayer, type LayerScan } from './tarscan.js';

/** A command on a layer's files, as the containers' root: rootless, inside the containers' user mapping. */
const run = (storageDir: string, argv: string[], o?: Parameters<typeof runFile>[2]) => runFile(...asContainerRoot(storageDir, argv), o);

/** Directory of an unpacked layer, by its DiffID. */
export function layerDir(storageDir: string, diffId: string): string {
  return join(ociPaths(storageDir).layers, diffId.slice(7));
}

/**
 * Turn OCI whiteouts into overlayfs ones: `.wh.NAME` becomes a 0/0 character device NAME, and
 * `.wh..wh..opq` becomes the opaque xattr on its directory (trusted.overlay.opaque; rootless user.overlay.opaque).
 */
async function convertWhiteouts(storageDir: string, dir: string, scan: LayerScan): Promise<void> {
  for (const p of scan.whiteouts) {
    const i = p.lastIndexOf('/');
    const marker = join(dir, i < 0 ? '' : p.slice(0, i), `.wh.${p.slice(i + 1)}`);
    rmSync(marker, { force: true });
    rmSync(join(dir, p), { recursive: true, force: true }); // the same layer may also hold the name: the whiteout wins
    await run(storageDir, ['mknod', '-m', '0000', join(dir, p), 'c', '0', '0']);
  }
  if (scan.opaque.length) {
    for (const d of scan.opaque) rmSync(join(dir, d, '.wh..wh..opq'), { force: true });
    await run(storageDir, ['setfattr', '-n', opaqueXattr(), '-v', 'y', ...scan.opaque.map((d) => join(dir, d))]).catch((cause: Error) => {
      throw new EngineError('HOST_UNSUPPORTED', `Cannot mark opaque directories in a layer: ${cause.message}. Install the attr package (./setup.sh does).`, { cause });
    });
  }
}

/**
 * Unpack the layer in file (tar, gzip or zstd) unless its DiffID is already unpacked. expectedDiffId,
 * when known (from an image config), must match. prescanned: the scan already made while the blob
 * arrived. Nothing is left behind when anything fails.
 */
export async function unpackLayer(storageDir: string, file: string, label: string, expectedDiffId?: string, journal?: Set<string>, prescanned?: LayerScan): Promise<LayerScan & { dir: string }> {
  const scan = prescanned ?? (await scanLayer(file, label));
  if (expectedDiffId && scan.diffId !== expectedDiffId)
    throw new EngineError('DIGEST_MISMATCH', `The layer ${label} unpacks to ${scan.diffId}, but the image config says ${expectedDiffId}. The image is corrupt.`);
  const dir = layerDir(storageDir, scan.diffId);
  if (existsSync(dir)) return { ...scan, dir };
  if (scan.devices.length && rootlessHost())
    throw new EngineError('HOST_UNSUPPORTED', `The layer ${label} holds ${scan.devices.length} device node(s) (${scan.devices.slice(0, 3).join(', ')}), which an ordinary user cannot create: codex32 runs rootless. Use an image without device nodes, or run codex32 as root.`);
  mkdirSync(ociPaths(storageDir).layers, { recursive: true, mode: 0o700 });
  const tmp = tempPath(storageDir, 'layer');
  mkdirSync(tmp, { mode: 0o755 });
  try {
    const args = ['-xf', file, '-C', tmp, '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=user.*', '--xattrs-include=security.capability'];
    if (scan.compression === 'zstd') args.push('--zstd');
    // an empty layer (no entries: a config-only commit) unpacks to an empty directory; GNU tar refuses a 0-byte one
    if (scan.entries > 0)
      await run(storageDir, ['tar', ...args], { maxBuffer: 16 * 1024 * 1024 }).catch((cause: Error & { stderr?: string }) => {
        throw new EngineError('INVALID_IMAGE', `Cannot unpack the layer ${label}: ${(cause.stderr ?? cause.message).trim().split('\n').slice(-3).join(' ')}`, { cause });
      });
    await convertWhiteouts(storageDir, tmp, scan);
    try {
      renameSync(tmp, dir);
      journal?.add(scan.diffId);
    } catch (e) {
      if (!existsSync(dir)) throw e; // otherwise another process unpacked the same layer first: use theirs
    }
  } finally {
    removeOwnedTree(storageDir, tmp);
  }
  return { ...scan, dir };
}

/** Remove an unpacked layer and its shifted copies (named HEX-OFFSET). */
export function removeLayerDir(storageDir: string, diffId: string): void {
  removeOwnedTree(storageDir, layerDir(storageDir, diffId));
  const shifted = ociPaths(storageDir).shifted;
  let names: string[] = [];
  try {
    names = readdirSync(shifted);
  } catch {
    /* no strict container ever ran */
  }
  for (const n of names) if (n.startsWith(`${diffId.slice(7)}-`)) removeOwnedTree(storageDir, join(shifted, n));
}
