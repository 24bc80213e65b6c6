// /containers/{id}/archive: HEAD and GET (a tar of a path, with docker's path-stat header) and PUT (a tar
// extracted into a directory), through the engine's copies with their symlink safety.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError } from './errors.js';
import type { ApiRequest, ApiRoute } from './server.js';

const octal = (b: Buffer, at: number, len: number) => parseInt(b.subarray(at, at + len).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
const text = (b: Buffer, at: number, len: number) => b.subarray(at, at + len).toString('utf8').replace(/\0.*$/s, '');

/** docker's ContainerPathStat of a tar header: mode carries Go's FileMode type bits (dir 1<<31, symlink 1<<27). */
export function pathStat(h: Buffer): { name: string; size: number; mode: number; mtime: string; linkTarget: string } {
  const type = String.fromCharCode(h[156] || 48);
  const perm = octal(h, 100, 8) & 0o7777;
  const kind = type === '5' ? 2 ** 31 : type === '2' ? 2 ** 27 : 0;
  return {
    name: text(h, 0, 100).replace(/\/$/, '').split('/').pop() ?? '',
    size: type === '5' ? 4096 : octal(h, 124, 12),
    mode: kind + perm,
    mtime: new Date(octal(h, 136, 12) * 1000).toISOString(),
    linkTarget: type === '2' ? text(h, 157, 100) : '',
  };
}

/** The first 512 bytes of a stream (null when it ends sooner), leaving the rest in it for a pipe. */
function firstBlock(s: Readable): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = (v: Buffer | null) => {
      s.off('readable', onReadable).off('end', onEnd).off('error', onEnd);
      resolve(v);
    };
    const onEnd = () => done(null);
    const onReadable = () => {
      for (let c: Buffer | null; n < 512 && (c = s.read()) !== null; n += c.length) chunks.push(c);
      if (n >= 512) done(Buffer.concat(chunks));
    };
    s.on('readable', onReadable).on('end', onEnd).on('error', onEnd);
  });
}

async function get(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  req.named.container = req.params.id;
  const path = req.query.get('path');
  if (!path) throw new ApiError(400, 'path is required');
  const row = req.engine.get(req.params.id);
  const { proc } = await req.engine.copyFrom(row.id, path);
  const stdout = proc.stdout!;
  const head = await firstBlock(stdout);
  /** Stop the helper, reading away what it already wrote: a stream left holding bytes never ends, and its end
   * is what lets the helper be awaited and its copy root go (a 404 hung whenever the end blocks came in two reads) */
  const stop = () => {
    stdout.resume();
    proc.kill();
  };
  // a missing path gives an empty archive: nothing, or only the zero blocks that end one
  if (!head || head.subarray(0, 512).every((b) => b === 0)) {
    stop();
    await proc.catch(() => undefined);
    throw new ApiError(404, `Could not find the file ${path} in container ${req.params.id}`);
  }
  const stat = Buffer.from(JSON.stringify(pathStat(head))).toString('base64');
  res.writeHead(200, { 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': stat });
  if (req.method === 'HEAD') {
    stop();
    return void res.end();
  }
  res.write(head);
  await pipeline(stdout, res).catch(() => proc.kill());
}

async function put(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  req.named.container = req.params.id;
  const path = req.query.get('path');
  if (!path) throw new ApiError(400, 'path is required');
  const row = req.engine.get(req.params.id);
  const kind = await req.engine.statPath(row.id, path);
  if (kind === 'missing') throw new ApiError(404, `Could not find the file ${path} in container ${req.params.id}`);
  if (kind !== 'dir') throw new ApiError(400, 'extraction point is not a directory');
  const dir = mkdtempSync(join(tmpdir(), 'codex32-put-'));
  try {
    const file = join(dir, 'archive.tar');
    await pipeline(req.raw, createWriteStream(file));
    await req.engine.copyTo(row.id, path, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  res.writeHead(200, { 'Content-Length': 0 }).end();
}

export const archiveRoutes: ApiRoute[] = [
  { method: 'GET', path: '/containers/:id/archive', handler: get },
  { method: 'PUT', path: '/containers/:id/archive', handler: put },
];
