// File contents in and out of a container in one supervisor round trip each: writeFiles and readFiles,
// confined by the same tar-in and tar-out as cp (never following a link out of the container).
import { chmod, mkdir, mkdtemp, rm, writeFile } from '../lazy.js';
import { dirname, join, posix } from 'node:path';
import { EngineError } from '../errors.js';
import { tarIn, tarOut, statIn } from '../runtime/files.js';
import { shimPath } from '../runtime/supervisor.js';
import { reachable, refuseLostCopy, withCopyRoot } from './copyroot.js';
import type { EngineCore } from './core.js';

export interface FileToWrite {
  /** absolute path inside the container (at minimal: inside its app directory, as cp) */
  path: string;
  content: string | Buffer;
  /** permission bits, default 0o644 */
  mode?: number;
}

export interface FileRead {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  content: Buffer;
  mode: number;
  size: number;
  /** where a symlink points (it is never followed) */
  linkTarget?: string;
}

/** The archive entry name of an absolute container path; refuses relative paths, .. and /. */
function entryName(path: string): string {
  const p = posix.normalize(path);
  if (!path.startsWith('/') || path.split('/').includes('..') || p === '/')
    throw new EngineError('INVALID_CONFIG', `Expected an absolute file path inside the container without .., got \`${path}\``, { context: { path } });
  return p.slice(1).replace(/\/$/, '');
}

/** Write files (parents made as needed) into the container in one round trip. */
export async function writeFiles(core: EngineCore, ref: string, files: FileToWrite[]): Promise<void> {
  const row = reachable(core, ref);
  const names = files.map((f) => entryName(f.path));
  if (new Set(names).size !== names.length) throw new EngineError('INVALID_CONFIG', 'Expected each path once in writeFiles');
  for (const f of files)
    if (f.mode !== undefined && (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o7777))
      throw new EngineError('INVALID_CONFIG', `Expected the mode of ${f.path} to be permission bits such as 0o644, got \`${f.mode}\``, { context: { path: f.path } });
  if (!files.length) return;
  const stage = await mkdtemp(join(core.settings.storageDir, '.write-'));
  try {
    // asynchronously: a big file written at once would hold the caller's event loop for its whole length
    for (const [i, f] of files.entries()) {
      const local = join(stage, 'root', names[i]!);
      await mkdir(dirname(local), { recursive: true, mode: 0o700 });
      await writeFile(local, f.content);
      await chmod(local, f.mode ?? 0o644);
    }
    const { c } = await import('tar');
    // the files alone, no directory entries: existing directories keep their owner and mode
    await c({ cwd: join(stage, 'root'), file: join(stage, 'files.tar'), portable: true, noDirRecurse: true }, names);
    await withCopyRoot(core, row, async (run) => {
      await refuseLostCopy(row, run, files.map((f) => f.path));
      await tarIn(shimPath(), run, '/', join(stage, 'files.tar'));
    });
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** Read files from the container (running or stopped) in one round trip; a missing one is NO_SUCH_PATH. */
export async function readFiles(core: EngineCore, ref: string, paths: string[]): Promise<FileRead[]> {
  const row = reachable(core, ref);
  const names = paths.map(entryName);
  if (!names.length) return [];
  return withCopyRoot(core, row, (run) => readThrough(run, row.name, paths, names));
}

/** readFiles through the copy helper of run directory run. */
async function readThrough(run: string, container: string, paths: string[], names: string[]): Promise<FileRead[]> {
  const { proc } = await tarOut(shimPath(), run, '/', names);
  const wanted = new Map(names.map((n, i) => [n, paths[i]]));
  const found = new Map<string, FileRead>();
  const { Parser } = await import('tar');
  const parser = new Parser({
    onReadEntry: (e) => {
      const name = e.path.replace(/\/$/, '');
      const path = wanted.get(name);
      if (!path) return e.resume(); // a directory's children
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => {
        const type = e.type === 'File' || e.type === 'OldFile' ? 'file' : e.type === 'Directory' ? 'directory' : e.type === 'SymbolicLink' ? 'symlink' : 'other';
        found.set(name, { path, type, content: Buffer.concat(chunks), mode: (e.mode ?? 0) & 0o7777, size: e.size ?? 0, linkTarget: e.linkpath || undefined });
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    proc.stdout!.pipe(parser);
  });
  const done = await proc;
  const missing = names.filter((n) => !found.has(n));
  if (missing.length) {
    // what is missing is asked of the container itself: the helper's stderr may say it, or may not have arrived
    const gone: string[] = [];
    for (const n of missing) if ((await statIn(shimPath(), run, wanted.get(n)!)) === 'missing') gone.push(wanted.get(n)!);
    if (gone.length) throw new EngineError('NO_SUCH_PATH', `No such file in container ${container}: ${gone.join(', ')}`, { context: { container, path: gone[0] } });
    const first = wanted.get(missing[0])!;
    const why = done.stderr.replace(/^codex32-shim: /, '').trim() || `the copy helper exited with ${done.exitCode}`;
    throw new EngineError('RUNTIME_FAILED', `Cannot read ${first} in container ${container}: ${why}`, { context: { container, path: first } });
  }
  return names.map((n) => found.get(n)!);
}
