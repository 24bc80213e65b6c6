// Files in and out of a container through the supervisor: confined tar, stat and the busybox that does the work.
import { mountQuota } from './quota.js';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { runCommand } from './command.js';
import { spawnProcess } from './spawn.js';
import { dirname, posix } from 'node:path';
import { EngineError } from '../errors.js';

/** Whether each busybox found is static, by path, size and change time (the binary is 2 MB: read its head once). */
const staticSeen = new Map<string, boolean>();

/** Whether the file at p names no dynamic loader in its first 4 KiB (where an ELF's interpreter path sits). */
function isStatic(p: string): boolean | undefined {
  let st;
  try {
    st = statSync(p);
  } catch {
    return undefined;
  }
  const key = `${p}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const known = staticSeen.get(key);
  if (known !== undefined) return known;
  const buf = Buffer.alloc(4096);
  const fd = openSync(p, 'r');
  let head: Buffer;
  try {
    head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
  const result = !head.includes(Buffer.from('/lib64/ld-linux')) && !head.includes(Buffer.from('/lib/ld-linux'));
  staticSeen.set(key, result);
  return result;
}

/** The host's statically linked busybox, run as tar inside a container's root. */
export function busyboxPath(): string {
  // a dynamic busybox would load its libraries from the container's root: only a static one is safe
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) if (isStatic(p)) return p;
  throw new EngineError('HOST_UNSUPPORTED', 'Copying files needs a statically linked busybox on the host. Install it with `apt-get install busybox-static` (./setup.sh does).');
}

/** A tar stream out of a container: its stdout, kill(), and awaited, how it ended with what it said on stderr (no exitCode: a signal, or it never started). */
export type TarStream = Promise<{ exitCode: number | undefined; stderr: string }> & { stdout: Readable; kill(): boolean };

/** The most of the helper's stderr kept for the error message. */
const STDERR_KEPT = 4096;

/** Archive entries of dir inside the container; wrapped so that awaiting it does not await the process. */
export async function tarOut(shim: string, runDir: string, dir: string, entries: string[]): Promise<{ proc: TarStream }> {
  await mountQuota(runDir); // a stopped container's quota, unmounted since the host restarted
  const child = spawnProcess(shim, ['tar-out', runDir, busyboxPath(), dir, ...entries], { stdio: ['ignore', 'pipe', 'pipe'] });
  // read here, always: 'close' waits for stderr to end, and a stream nobody reads never ends once it holds
  // a line (tar's "No such file" for a missing path, written as the caller kills it): the caller's await hung
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < STDERR_KEPT) stderr += d.toString('utf8').slice(0, STDERR_KEPT - stderr.length);
  });
  const ended = new Promise<{ exitCode: number | undefined; stderr: string }>((resolve) => {
    child.once('error', (e: Error) => resolve({ exitCode: undefined, stderr: e.message }));
    child.once('close', (code: number | null) => resolve({ exitCode: code ?? undefined, stderr }));
  });
  return { proc: Object.assign(ended, { stdout: child.stdout!, kill: () => child.kill() }) };
}

/** Extract an archive file (validated by the caller) into dir inside the container. */
export async function tarIn(shim: string, runDir: string, dir: string, file: string): Promise<void> {
  await mountQuota(runDir); // a stopped container's quota, unmounted since the host restarted
  const child = spawnProcess(shim, ['tar-in', runDir, busyboxPath(), dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const input = createReadStream(file);
  input.on('error', (e) => child.stdin!.destroy(e));
  child.stdin!.on('error', () => input.destroy()); // the helper stopped reading: its exit code says why
  input.pipe(child.stdin!);
  const code = await new Promise<number | undefined>((resolve) => {
    child.once('error', (e: Error) => ((stderr ||= e.message), resolve(undefined)));
    child.once('close', (c: number | null) => resolve(c ?? undefined));
  });
  if (code !== 0)
    throw new EngineError('INVALID_CONFIG', `Cannot copy into ${dir}: ${stderr.replace(/^codex32-shim: /, '').trim()}`, { context: { path: dir } });
}

/** What dir is inside the container: a directory, something else, or missing. */
export async function statIn(shim: string, runDir: string, path: string): Promise<'dir' | 'other' | 'missing'> {
  await mountQuota(runDir); // a stopped container's quota, unmounted since the host restarted
  const r = await runCommand(shim, ['test-dir', runDir, path]).catch((e: Error) => ({ code: -1, stderr: e.message }));
  if (r.code === 0) return 'dir';
  if (r.code === 1) return 'other';
  if (r.code === 2) return 'missing';
  throw new EngineError('RUNTIME_FAILED', `Cannot look at ${path} in the container: ${r.stderr.trim()}`);
}

/** Split an absolute container path into the directory to enter and the entry to archive. */
export function splitPath(path: string): { dir: string; entry: string } {
  const p = posix.normalize(path);
  if (!p.startsWith('/')) throw new EngineError('INVALID_CONFIG', `Expected an absolute path inside the container, got \`${path}\``);
  if (p === '/') return { dir: '/', entry: '.' };
  return { dir: dirname(p), entry: posix.basename(p) };
}
