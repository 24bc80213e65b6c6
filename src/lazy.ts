// Node built-ins that are costly to load (child_process, crypto, net, zlib, http), loaded on the first call
// rather than at start-up. A CLI command pays for the modules its own path uses: `ps` and `inspect` never
// spawn or hash, and loading child_process, crypto and http alone took about 10 ms of each command's
// start here (docs/benchmarks.md). Each export has the signature of the built-in it stands for.
import type * as ChildProcess from 'node:child_process';
import type * as Crypto from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Net from 'node:net';
import { promisify } from 'node:util';
import type * as Zlib from 'node:zlib';

const load = createRequire(import.meta.url);
/** A built-in module, required the first time the returned function is called. */
function builtin<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= load(id) as T);
}
const cp = builtin<typeof ChildProcess>('node:child_process');
const crypto = builtin<typeof Crypto>('node:crypto');
const net = builtin<typeof Net>('node:net');
const zlib = builtin<typeof Zlib>('node:zlib');

type Fn = (...args: any[]) => any;
/** A function that calls module().name with its arguments, typed as the built-in function. */
function forward<M, K extends keyof M>(mod: () => M, name: K): M[K] {
  return ((...args: unknown[]) => (mod()[name] as Fn)(...args)) as M[K];
}

export const spawn = forward(cp, 'spawn');
export const spawnSync = forward(cp, 'spawnSync');
export const execFile = forward(cp, 'execFile');
export const execFileSync = forward(cp, 'execFileSync');
/** promisify(execFile): resolves to the command's { stdout, stderr } as text, rejects with them on failure. */
export function execFileAsync(file: string, args: readonly string[], options: ChildProcess.ExecFileOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return promisify(cp().execFile)(file, args, { ...options, encoding: 'utf8' });
}
export const createHash = forward(crypto, 'createHash');
export const randomBytes = forward(crypto, 'randomBytes');
export const randomInt = forward(crypto, 'randomInt');
export const connect = forward(net, 'connect');
export const createServer = forward(net, 'createServer');
export const createGunzip = forward(zlib, 'createGunzip');
