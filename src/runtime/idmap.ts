// How a strict container sees an image's layers owned by its own uid range: idmapped mounts where the kernel
// takes them as overlay layers, else a copy of each layer with its owners shifted, kept per range.
import { release } from 'node:os';

/** The way this host gives strict containers their layers, and why. */
export interface LayerIdmap {
  mode: 'idmapped' | 'shifted-copy';
  why: string;
}

/** The first kernel whose overlayfs takes detached (idmapped, never attached) mounts as its layers. */
const IDMAP_KERNEL: [number, number] = [6, 15];

let cached: LayerIdmap | undefined;

/** Whether a kernel release (uname -r) is at least IDMAP_KERNEL. */
export function kernelHasIdmappedLayers(rel: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > IDMAP_KERNEL[0] || (maj === IDMAP_KERNEL[0] && min >= IDMAP_KERNEL[1]);
}

/** How strict containers get their layers here: CODEX32_IDMAPPED_LAYERS=0 asks for the shifted copies even where idmapped mounts work. */
export function layerIdmap(env: NodeJS.ProcessEnv = process.env, rel = release()): LayerIdmap {
  if (env === process.env && cached) return cached;
  const need = `${IDMAP_KERNEL.join('.')}`;
  const r: LayerIdmap =
    env.CODEX32_IDMAPPED_LAYERS === '0'
      ? { mode: 'shifted-copy', why: 'CODEX32_IDMAPPED_LAYERS=0' }
      : kernelHasIdmappedLayers(rel)
        ? { mode: 'idmapped', why: `kernel ${rel} (idmapped overlay layers need ${need})` }
        : { mode: 'shifted-copy', why: `kernel ${rel} is older than ${need}, which idmapped overlay layers need` };
  if (env === process.env) cached = r;
  return r;
}
