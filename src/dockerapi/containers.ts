// Container endpoints: list, create, start, stop, restart, kill, remove, wait, inspect, logs.
import { parseSignal } from '../config/parse.js';
import type { ContainerEngine } from '../engine/engine.js';
import { isEngineError } from '../errors.js';
import { attachRoutes, startWithAttach } from './attach.js';
import { toContainerConfig } from './create.js';
import { ApiError } from './errors.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { containerFilter, filtersWantAll } from '../engine/psfilter.js';
import { streamType } from './version.js';
import { inspectEntry, psEntry } from './shapes.js';
import { flag, listFilters } from './query.js';
import { frameRecord, framesOf, writeOut } from './logframes.js';
import { sendJson } from './system.js';

/** The container a request names (the docker CLI's "No such container: X" comes from here). */
function ref(req: ApiRequest): string {
  req.named.container = req.params.id;
  return req.params.id;
}

const noContent = (res: Parameters<ApiRoute['handler']>[1], status = 204) => void res.writeHead(status).end();

async function list(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const f = listFilters(req.query);
  const keep = containerFilter(f, (ref) => req.engine.get(ref));
  let rows = (await req.engine.list({ all: flag(req.query, 'all') || filtersWantAll(f) })).filter(keep);
  rows.sort((a, b) => b.createdAt - a.createdAt);
  const limit = Number(req.query.get('limit') ?? -1);
  if (limit > 0) rows = rows.slice(0, limit);
  const now = Date.now();
  sendJson(res, rows.map((r) => psEntry(r, now)));
}

async function create(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const body = await req.json();
  const cfg = toContainerConfig(body, req.query.get('name'));
  const platform = req.query.get('platform');
  if (platform) cfg.platform = platform;
  req.named.image = cfg.image;
  try {
    const c = await req.engine.create(cfg);
    sendJson(res, { Id: c.id, Warnings: [] }, 201);
  } catch (e) {
    if (isEngineError(e, 'NAME_IN_USE')) {
      const other = req.engine.get(cfg.name!);
      throw new ApiError(409, `Conflict. The container name "/${cfg.name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    throw e;
  }
}

async function start(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const row = req.engine.get(ref(req));
  if (row.status === 'running') throw new ApiError(304, 'Container already started');
  try {
    await startWithAttach(req.engine, row.id);
  } catch (e) {
    if (row.config.autoRemove) await req.engine.remove(row.id, { force: true, volumes: true }).catch(() => undefined); // as dockerd: --rm even when the start fails
    throw e;
  }
  noContent(res);
}

async function stop(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1], restart: boolean): Promise<void> {
  const row = req.engine.get(ref(req));
  const t = req.query.get('t');
  const timeout = t === null ? undefined : Number(t) < 0 ? 31_536_000 : Number(t);
  if (t !== null && !Number.isFinite(timeout)) throw new ApiError(400, `t must be a number of seconds, got ${t}`);
  if (restart) {
    await req.engine.restart(row.id, { timeout });
  } else {
    if (row.status !== 'running' && row.status !== 'restarting' && row.status !== 'starting') throw new ApiError(304, 'Container already stopped');
    await req.engine.stop(row.id, { timeout });
  }
  noContent(res);
}

async function kill(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const row = req.engine.get(ref(req));
  const sig = parseSignal(req.query.get('signal') || 'KILL');
  if (row.status !== 'running' && row.status !== 'stopping') throw new ApiError(409, `Cannot kill container: ${req.params.id}: Container ${row.id} is not running`);
  await req.engine.kill(row.id, sig);
  noContent(res);
}

async function remove(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const row = req.engine.get(ref(req));
  const force = flag(req.query, 'force');
  if (!force && (row.status === 'running' || row.status === 'restarting'))
    throw new ApiError(409, `You cannot remove a running container ${row.id}. Stop the container before attempting removal or force remove`);
  await req.engine.remove(row.id, { force, volumes: flag(req.query, 'v') });
  noContent(res);
}

/** Headers go out at once (the docker CLI sends /start only after they arrive), the result at the exit. */
async function wait(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const row = req.engine.get(ref(req));
  const condition = req.query.get('condition') || 'not-running';
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new ApiError(400, `invalid condition: ${condition}`);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  // `docker run -d` asks for a wait and leaves: its poll ends with the connection
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  let result: { StatusCode: number; Error: null | { Message: string } };
  try {
    // an AutoRemove container may be removed meanwhile: the engine's wait still has its exit code
    const code = await req.engine.wait(row.id, { nextExit: condition !== 'not-running', signal: gone.signal });
    if (condition === 'removed') await untilRemoved(req.engine, row.id, res);
    result = { StatusCode: code, Error: null };
  } catch (e) {
    result = { StatusCode: -1, Error: { Message: (e as Error).message } };
  }
  res.end(JSON.stringify(result) + '\n');
}

async function untilRemoved(engine: ContainerEngine, id: string, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  for (let delay = 5; !res.destroyed; delay = Math.min(delay * 2, 100)) {
    try {
      engine.get(id);
    } catch (e) {
      if (isEngineError(e, 'NO_SUCH_CONTAINER')) return;
      throw e;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

async function inspect(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const row = req.engine.get(ref(req));
  sendJson(res, inspectEntry(await req.engine.inspect(row.id), row));
}

async function logs(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const row = req.engine.get(ref(req));
  const q = req.query;
  const streams = (['stdout', 'stderr'] as const).filter((s) => flag(q, s));
  if (!streams.length) throw new ApiError(400, 'Bad parameters: you must choose at least one stream');
  const tail = q.get('tail');
  const time = (k: string) => (q.get(k) && q.get(k) !== '0' ? Number(q.get(k)) * 1000 : undefined);
  const ac = new AbortController();
  res.writeHead(200, { 'Content-Type': streamType(req.version, !row.config.tty) });
  res.flushHeaders();
  res.on('close', () => ac.abort());
  const fo = { streams, since: time('since'), until: time('until'), timestamps: flag(q, 'timestamps'), tty: !!row.config.tty };
  const follow = flag(q, 'follow');
  if (!tail || tail === 'all') {
    // the whole log: records copied out a file's worth at a time, no object per record
    for await (const c of req.engine.logChunks(row.id, { follow, signal: ac.signal })) await writeOut(res, framesOf(c.bytes, fo));
  } else {
    // --tail reads from the log's end: the few records it needs, one by one
    for await (const rec of req.engine.logs(row.id, { follow, tail: Number(tail), since: fo.since, until: fo.until, streams, signal: ac.signal })) await writeOut(res, frameRecord(rec, fo));
  }
  res.end();
}

export const containerRoutes: ApiRoute[] = [
  { method: 'GET', path: '/containers/json', handler: list },
  { method: 'POST', path: '/containers/create', handler: create },
  { method: 'GET', path: '/containers/:id/json', handler: inspect },
  { method: 'POST', path: '/containers/:id/start', handler: start },
  { method: 'POST', path: '/containers/:id/stop', handler: (req, res) => stop(req, res, false) },
  { method: 'POST', path: '/containers/:id/restart', handler: (req, res) => stop(req, res, true) },
  { method: 'POST', path: '/containers/:id/kill', handler: kill },
  { method: 'DELETE', path: '/containers/:id', handler: remove },
  { method: 'POST', path: '/containers/:id/wait', handler: wait },
  { method: 'GET', path: '/containers/:id/logs', handler: logs },
  ...attachRoutes,
];

