// The Docker Engine API (v1.43 subset) on a unix socket: routing, versions, bodies and hijacked streams.
// Node's http is used directly, not fastify: attach and exec need the raw socket with the HTTP parser
// detached (Node's 'upgrade' event), and every other route is one engine call.
import { appendFileSync, chmodSync, existsSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import { ApiError, rawError, sendError, type Named } from './errors.js';
import { chunked, hijack, type Output } from './streams.js';
import { archiveRoutes } from './archive.js';
import { buildRoutes } from './build.js';
import { containerRoutes } from './containers.js';
import { controlRoutes } from './control.js';
import { spaceRoutes } from './space.js';
import { transferRoutes } from './transfer.js';
import { execRoutes } from './exec.js';
import { imageRoutes } from './images.js';
import { networkRoutes } from './networks.js';
import { observeRoutes } from './observe.js';
import { systemRoutes } from './system.js';
import { volumeRoutes } from './volumes.js';
import { API_VERSION, MIN_VERSION, older, streamType } from './version.js';

export { API_VERSION } from './version.js';

/** One request as a handler sees it. */
export interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  raw: IncomingMessage;
  engine: ContainerEngine;
  /** the JSON body ({} when empty) */
  json<T = Record<string, unknown>>(): Promise<T>;
  /** the API version the client asked for (the path's /vX.Y, else the newest) */
  version: string;
  /**
   * The response as a stream: the hijacked socket for an Upgrade request, else a chunked body. Framed
   * (stdcopy) output is labelled multiplexed-stream for clients of API 1.42 and later, as dockerd does.
   */
  stream(framed?: boolean): Output;
  /** names the request is about, for docker's "No such ..." texts */
  named: Named;
}

export type ApiHandler = (req: ApiRequest, res: ServerResponse) => Promise<void>;

export interface ApiRoute {
  method: string;
  /** with :name segments, e.g. /containers/:id/json */
  path: string;
  handler: ApiHandler;
}

interface Compiled extends ApiRoute {
  re: RegExp;
  keys: string[];
}

const ROUTES: Compiled[] = [...systemRoutes, ...spaceRoutes, ...transferRoutes, ...containerRoutes, ...controlRoutes, ...execRoutes, ...archiveRoutes, ...observeRoutes, ...imageRoutes, ...networkRoutes, ...volumeRoutes, ...buildRoutes].map((r) => {
  const keys: string[] = [];
  // an image name holds slashes: a :name that ends the pattern or precedes a verb takes them all
  const re = new RegExp('^' + r.path.replace(/:(\w+)/g, (_m, k: string) => (keys.push(k), k === 'name' ? '(.+?)' : '([^/]+)')) + '$');
  return { ...r, re, keys };
});

function route(method: string, url: string): { route: Compiled; params: Record<string, string>; query: URLSearchParams; version: string } {
  const u = new URL(url, 'http://docker');
  let path = u.pathname;
  let version = API_VERSION;
  const v = /^\/v([0-9][0-9.]*)(\/.*)$/.exec(path);
  if (v) {
    if (older(v[1], MIN_VERSION)) throw new ApiError(400, `client version ${v[1]} is too old. Minimum supported API version is ${MIN_VERSION}, please upgrade your client to a newer version`);
    if (older(API_VERSION, v[1])) throw new ApiError(400, `client version ${v[1]} is too new. Maximum supported API version is ${API_VERSION}`);
    path = v[2];
    version = v[1];
  }
  const m = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
  for (const r of ROUTES) {
    if (!m.includes(r.method)) continue;
    const hit = r.re.exec(path);
    if (hit) return { route: r, params: Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(hit[i + 1])])), query: u.searchParams, version };
  }
  throw new ApiError(404, 'page not found');
}

async function readBody(raw: IncomingMessage, upgradeBody?: Buffer): Promise<Buffer> {
  if (upgradeBody) return upgradeBody;
  const chunks: Buffer[] = [];
  for await (const c of raw) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseJson<T>(buf: Buffer): T {
  if (!buf.length) return {} as T;
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (e) {
    throw new ApiError(400, `invalid JSON body: ${(e as Error).message}`);
  }
}

/** Bytes of an Upgrade request's body (Content-Length) from what followed its headers; the rest is stdin. */
async function upgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const want = Number(req.headers['content-length'] ?? 0);
  let got = head;
  while (got.length < want) {
    const more: Buffer | null = await new Promise((res) => {
      const onData = (d: Buffer) => (cleanup(), res(d));
      const onEnd = () => (cleanup(), res(null));
      const cleanup = () => socket.off('data', onData).off('end', onEnd).off('close', onEnd);
      socket.on('data', onData).on('end', onEnd).on('close', onEnd);
    });
    if (!more) break;
    got = Buffer.concat([got, more]);
  }
  socket.pause();
  return { body: got.subarray(0, want), rest: got.subarray(want) };
}

function headers(res: ServerResponse): void {
  res.setHeader('Api-Version', API_VERSION);
  res.setHeader('Server', 'Docker/20.10.24-codex32 (linux)');
  res.setHeader('Docker-Experimental', 'false');
  res.setHeader('Ostype', 'linux');
}

// CODEX32_API_TRACE=FILE appends each request's handler time (ms, method, URL) to FILE: where a client's time goes.
const TRACE = process.env.CODEX32_API_TRACE;

/** Serve the API for engine on the unix socket at path (mode 0660: whoever can write it is root). */
export async function serveDockerApi(engine: ContainerEngine, path: string): Promise<{ close(): Promise<void> }> {
  await replaceStaleSocket(path);
  const handle = async (raw: IncomingMessage, res: ServerResponse | undefined, socket?: Duplex, head?: Buffer) => {
    const named: Named = {};
    let stream: Output | undefined;
    const t0 = TRACE ? performance.now() : 0;
    try {
      const r = route(raw.method ?? 'GET', raw.url ?? '/');
      let body: Buffer | undefined;
      let rest: Buffer = Buffer.alloc(0);
      if (socket) ({ body, rest } = await upgradeBody(raw, socket, head ?? Buffer.alloc(0)));
      const req: ApiRequest = {
        method: raw.method ?? 'GET',
        params: r.params,
        query: r.query,
        raw,
        engine,
        named,
        json: async <T>() => parseJson<T>(await readBody(raw, body)),
        version: r.version,
        stream: (framed = false) => (stream ??= socket ? hijack(socket, rest, !!raw.headers.upgrade, streamType(r.version, framed)) : chunked(res!, streamType(r.version, framed))),
      };
      if (res) headers(res);
      await r.route.handler(req, res ?? (undefined as unknown as ServerResponse));
    } catch (err) {
      if (socket && !stream) socket.end(rawError(err, named));
      else if (stream) stream.end();
      else if (res) sendError(res, err, named);
    } finally {
      if (TRACE) appendFileSync(TRACE, `${(performance.now() - t0).toFixed(1)} ${raw.method} ${raw.url}\n`);
    }
  };
  const server = http.createServer({ maxHeaderSize: 1 << 20 }, (req, res) => void handle(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void handle(req, undefined, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new EngineError('INVALID_CONFIG', `Cannot listen on ${path}: ${e.message}`, { cause: e })));
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o660);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        rmSync(path, { force: true });
      }),
  };
}

/** A socket file left by a server that is gone is removed; one with a live server is refused. */
async function replaceStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(path, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
  if (live) throw new EngineError('INVALID_CONFIG', `Another server is listening on ${path}. Stop it, or give another path with --socket.`);
  rmSync(path, { force: true });
}
