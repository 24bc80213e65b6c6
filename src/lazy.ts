// Node built-ins that are costly to load (child_process, crypto, net, dgram, zlib, http, stream,
// fs/promises, stream/promises), loaded on the first call rather than at start-up. A CLI command pays
// for the modules its own path uses: `ps` and `inspect` never spawn or hash, and loading child_process,
// crypto and http alone took about 10 ms of each command's start here (docs/benchmarks.md). Each export has
// the signature of the built-in it stands for.
import type * as ChildProcess from 'node:child_process';
import type * as Crypto from 'node:crypto';
import type * as FsPromises from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as Net from 'node:net';
import type * as Stream from 'node:stream';
import type * as StreamPromises from 'node:stream/promises';
import type * as Dgram from 'node:dgram';
import { promisify } from 'node:util';
import type * as Zlib from 'node:zlib';

const load = createRequire(import.meta.url);
/** A built-in module, required the first time the returned function is called. */
function builtin<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= load(id) as T);
}
const childProcess = builtin<typeof ChildProcess>('node:child_process');
const crypto = builtin<typeof Crypto>('node:crypto');
const net = builtin<typeof Net>('node:net');
const zlib = builtin<typeof Zlib>('node:zlib');
// fs/promises brings readline's internals, stream/promises the whole of streams: a command that reads the
// database and prints (ps, inspect) needs neither
const fsp = builtin<typeof FsPromises>('node:fs/promises');
const streams = builtin<typeof StreamPromises>('node:stream/promises');
const dgram = builtin<typeof Dgram>('node:dgram');
/** node:stream, loaded on the first call: `new (nodeStream().PassThrough)()`. */
export const nodeStream = builtin<typeof Stream>('node:stream');

type Fn = (...args: any[]) => any;
/** A function that calls module().name with its arguments, typed as the built-in function. */
function forward<M, K extends keyof M>(mod: () => M, name: K): M[K] {
  return ((...args: unknown[]) => (mod()[name] as Fn)(...args)) as M[K];
}

export const spawn = forward(childProcess, 'spawn');
export const spawnSync = forward(childProcess, 'spawnSync');
export const execFile = forward(childProcess, 'execFile');
export const execFileSync = forward(childProcess, 'execFileSync');
/** promisify(execFile): resolves to the command's { stdout, stderr } as text, rejects with them on failure. */
export function execFileAsync(file: string, args: readonly string[], options: ChildProcess.ExecFileOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return promisify(childProcess().execFile)(file, args, { ...options, encoding: 'utf8' });
}
export const createHash = forward(crypto, 'createHash');
export const randomBytes = forward(crypto, 'randomBytes');
export const randomInt = forward(crypto, 'randomInt');
export const connect = forward(net, 'connect');
export const createServer = forward(net, 'createServer');
export const createSocket = forward(dgram, 'createSocket');
export const createGunzip = forward(zlib, 'createGunzip');

/** node:fs/promises, each function loaded on its first call. */
export const chmod = forward(fsp, 'chmod');
export const chown = forward(fsp, 'chown');
export const copyFile = forward(fsp, 'copyFile');
export const cp = forward(fsp, 'cp');
export const lchown = forward(fsp, 'lchown');
export const lstat = forward(fsp, 'lstat');
export const lutimes = forward(fsp, 'lutimes');
export const mkdir = forward(fsp, 'mkdir');
export const mkdtemp = forward(fsp, 'mkdtemp');
export const readFile = forward(fsp, 'readFile');
export const readdir = forward(fsp, 'readdir');
export const readlink = forward(fsp, 'readlink');
export const rename = forward(fsp, 'rename');
export const rm = forward(fsp, 'rm');
export const stat = forward(fsp, 'stat');
export const symlink = forward(fsp, 'symlink');
export const utimes = forward(fsp, 'utimes');
export const writeFile = forward(fsp, 'writeFile');
/** node:stream/promises' pipeline, loaded on its first call. */
export const pipeline = forward(streams, 'pipeline');
