// A directory as a layer tar: an overlay upper dir (overlay whiteouts back to OCI ones) or a tree of new files.
import { runFile } from '../runtime/command.js';
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { tempPath } from './blobs.js';

const run = runFile;

/** What codex32 mounts over in every container: mount points and bound files, never part of an image (docker's rule too). */
const RUNTIME_PATHS = ['etc/hosts', 'etc/resolv.conf', 'etc/hostname', 'proc', 'sys', 'dev', 'tmp'];

interface UpperScan {
  whiteouts: string[];
  opaque: string[];
  ids: Set<number>;
}

/** Walk an overlay upper dir: 0/0 character devices are whiteouts; collect owners for unshifting. */
async function scanUpper(upper: string): Promise<UpperScan> {
  const scan: UpperScan = { whiteouts: [], opaque: [], ids: new Set() };
  const walk = (rel: string) => {
    for (const name of readdirSync(join(upper, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(upper, r));
      scan.ids.add(st.uid).add(st.gid);
      if (st.isCharacterDevice() && st.rdev === 0) scan.whiteouts.push(r);
      else if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  const attrs = await run('getfattr', ['-R', '-n', 'trusted.overlay.opaque', '--absolute-names', upper], { maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  for (const m of String(attrs.stdout).matchAll(/^# file: (.*)\ntrusted\.overlay\.opaque="y"/gm)) if (m[1] !== upper) scan.opaque.push(m[1].slice(upper.length + 1));
  return scan;
}

/** Write the layer tar of upper (an overlay upper dir, or any directory of new files) at file: its content, minus overlay whiteouts, plus OCI markers; owners shifted back by offset. */
export async function writeLayer(storageDir: string, upper: string, file: string, offset: number): Promise<void> {
  const scan = await scanUpper(upper);
  const work = tempPath(storageDir, 'commit');
  mkdirSync(work, { mode: 0o700 });
  try {
    const markers: string[] = [];
    for (const w of scan.whiteouts) {
      const i = w.lastIndexOf('/');
      markers.push(i < 0 ? `.wh.${w}` : `${w.slice(0, i)}/.wh.${w.slice(i + 1)}`);
    }
    for (const d of scan.opaque) markers.push(`${d}/.wh..wh..opq`);
    for (const m of markers) {
      mkdirSync(join(work, 'markers', m, '..'), { recursive: true });
      writeFileSync(join(work, 'markers', m), '');
    }
    writeFileSync(join(work, 'exclude'), [...scan.whiteouts, ...RUNTIME_PATHS].map((w) => `./${w}\n`).join(''));
    const map = [...scan.ids].filter((id) => id >= offset).map((id) => `+${id} +${id - offset}\n`).join('');
    writeFileSync(join(work, 'idmap'), map);
    const common = ['--numeric-owner', `--owner-map=${join(work, 'idmap')}`, `--group-map=${join(work, 'idmap')}`, '--sort=name', '--xattrs', '--xattrs-include=user.*', '--xattrs-include=security.capability'];
    await run('tar', ['-cf', file, ...common, '--anchored', '--no-wildcards', `--exclude-from=${join(work, 'exclude')}`, '-C', upper, '.']);
    if (markers.length) await run('tar', ['-rf', file, '--owner=0', '--group=0', '--numeric-owner', '--no-recursion', '-C', join(work, 'markers'), ...markers]);
  } catch (cause) {
    throw new EngineError('RUNTIME_FAILED', `Cannot archive the container's changes: ${(cause as { stderr?: string }).stderr ?? (cause as Error).message}`, { cause });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
