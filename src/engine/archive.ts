// Archives in and out of containers: validation of incoming tar entries and the confined copy helpers.
import type { ResultPromise } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, normalize, posix } from 'node:path';
import { EngineError } from '../errors.js';

/** The host's statically linked busybox, run as tar inside a container's root. */
export function busyboxPath(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(p)) continue;
    // a dynamic busybox would load its libraries from the container's root: only a static one is safe
    const head = readFileSync(p).subarray(0, 4096);
    if (!head.includes(Buffer.from('/lib64/ld-linux')) && !head.includes(Buffer.from('/lib/ld-linux'))) return p;
  }
  throw new EngineError('HOST_UNSUPPORTED', 'Copying files needs a statically linked busybox on the host. Install it with `apt-get install busybox-static` (./setup.sh does).');
}

/**
 * Refuse entries that could land outside the target: absolute names, `..`, entries beneath a symlink
 * of the same archive, and (unless allowAbsoluteLinks, for root filesystems whose links resolve
 * inside the container) links that point out.
 */
export async function validateArchive(file: string, options: { allowAbsoluteLinks?: boolean } = {}): Promise<string[]> {
  const bad: string[] = [];
  const names: string[] = [];
  const links = new Set<string>();
  const { list } = await import('tar');
  await list({
    file,
    preservePaths: true, // see names exactly as written, so nothing is silently rewritten
    onReadEntry: (e) => {
      const p = e.path;
      names.push(p);
      if (p.startsWith('/') || p.split('/').includes('..')) bad.push(`${p} (path leaves the target)`);
      const parts = posix.normalize(p).replace(/\/$/, '').split('/');
      for (let i = 1; i < parts.length; i++)
        if (links.has(parts.slice(0, i).join('/'))) bad.push(`${p} (written through the symlink ${parts.slice(0, i).join('/')})`);
      if (e.type === 'SymbolicLink' || e.type === 'Link') {
        const l = e.linkpath ?? '';
        if (e.type === 'SymbolicLink') links.add(parts.join('/'));
        const target = e.type === 'Link' ? normalize(l) : posix.normalize(posix.join(posix.dirname(p), l));
        const absolute = l.startsWith('/');
        const escapes = e.type === 'Link' ? absolute || target === '..' || target.startsWith('../') : !absolute && (target === '..' || target.startsWith('../'));
        if (escapes || (absolute && !(options.allowAbsoluteLinks && e.type === 'SymbolicLink')))
          bad.push(`${p} -> ${l} (link points outside the target)`);
      }
    },
  }).catch((cause: Error) => {
    throw new EngineError('INVALID_CONFIG', `Expected a tar archive, got one that cannot be read: ${cause.message}`, { cause });
  });
  if (bad.length)
    throw new EngineError('INVALID_CONFIG', `Refusing the archive: ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''}`);
  return names;
}

export type TarStream = ResultPromise<{ buffer: false; reject: false; stdout: 'pipe'; stderr: 'pipe' }>;

/** Archive entries of dir inside the container; wrapped so that awaiting it does not await the process. */
export async function tarOut(shim: string, runDir: string, dir: string, entries: string[]): Promise<{ proc: TarStream }> {
  const { execa } = await import('execa');
  return { proc: execa(shim, ['tar-out', runDir, busyboxPath(), dir, ...entries], { buffer: false, reject: false, stdout: 'pipe', stderr: 'pipe' }) };
}

/** Extract a validated archive file into dir inside the container. */
export async function tarIn(shim: string, runDir: string, dir: string, file: string): Promise<void> {
  await validateArchive(file);
  const { execa } = await import('execa');
  const r = await execa(shim, ['tar-in', runDir, busyboxPath(), dir], { inputFile: file, reject: false });
  if (r.exitCode !== 0)
    throw new EngineError('INVALID_CONFIG', `Cannot copy into ${dir}: ${String(r.stderr).replace(/^codex32-shim: /, '').trim()}`, { context: { path: dir } });
}

/** What dir is inside the container: a directory, something else, or missing. */
export async function statIn(shim: string, runDir: string, path: string): Promise<'dir' | 'other' | 'missing'> {
  const { execa } = await import('execa');
  const r = await execa(shim, ['test-dir', runDir, path], { reject: false });
  if (r.exitCode === 0) return 'dir';
  if (r.exitCode === 1) return 'other';
  if (r.exitCode === 2) return 'missing';
  throw new EngineError('RUNTIME_FAILED', `Cannot look at ${path} in the container: ${String(r.stderr).trim()}`);
}

/** Split an absolute container path into the directory to enter and the entry to archive. */
export function splitPath(path: string): { dir: string; entry: string } {
  const p = posix.normalize(path);
  if (!p.startsWith('/')) throw new EngineError('INVALID_CONFIG', `Expected an absolute path inside the container, got \`${path}\``);
  if (p === '/') return { dir: '/', entry: '.' };
  return { dir: dirname(p), entry: posix.basename(p) };
}
