// Volume endpoints: list with filters, create, inspect, remove (409 while in use) and prune, in docker's shapes.
import { isEngineError } from '../errors.js';
import type { VolumeInfo } from '../volumes/service.js';
import { ApiError } from './errors.js';
import { flag, listFilters } from './query.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { sendJson } from './system.js';

type Res = Parameters<ApiRoute['handler']>[1];

/** A volume as docker sends it (codex32's UsedBy left out). */
const shape = ({ UsedBy: _used, ...v }: VolumeInfo) => v;

/** docker's words for a volume that does not exist. */
function notFound<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isEngineError(e, 'NO_SUCH_VOLUME')) throw new ApiError(404, `get ${name}: no such volume`);
    throw e;
  }
}

const bool = (v: string[] | undefined, key: string): boolean | undefined => {
  if (!v?.length) return undefined;
  const x = v[v.length - 1].toLowerCase();
  if (!['true', '1', 'false', '0'].includes(x)) throw new ApiError(400, `invalid filter '${key}=${x}'`);
  return x === 'true' || x === '1';
};

async function list(req: ApiRequest, res: Res): Promise<void> {
  const f = listFilters(req.query);
  for (const k of Object.keys(f)) if (!['name', 'label', 'dangling', 'driver'].includes(k)) throw new ApiError(400, `invalid filter '${k}'`);
  const vols = req.engine.volume.list({ name: f.name, label: f.label, driver: f.driver, dangling: bool(f.dangling, 'dangling') });
  sendJson(res, { Volumes: vols.map(shape), Warnings: null });
}

async function create(req: ApiRequest, res: Res): Promise<void> {
  const b = await req.json<{ Name?: string; Driver?: string; DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null }>();
  if (b.Driver && b.Driver !== 'local') throw new ApiError(400, `volume driver ${b.Driver} is not supported by codex32: its only driver is local`);
  const v = req.engine.volume.create(b.Name || undefined, { driverOpts: b.DriverOpts ?? {}, labels: b.Labels ?? {} });
  sendJson(res, shape(v), 201);
}

async function inspect(req: ApiRequest, res: Res): Promise<void> {
  sendJson(res, shape(notFound(req.params.name, () => req.engine.volume.inspect(req.params.name))));
}

async function remove(req: ApiRequest, res: Res): Promise<void> {
  const name = req.params.name;
  if (!flag(req.query, 'force')) notFound(name, () => req.engine.volume.inspect(name));
  await req.engine.volume.remove(name, { force: flag(req.query, 'force') });
  res.writeHead(204).end();
}

async function prune(req: ApiRequest, res: Res): Promise<void> {
  const f = listFilters(req.query);
  for (const k of Object.keys(f)) if (!['label', 'all'].includes(k)) throw new ApiError(400, `invalid filter '${k}'`);
  // API 1.41 and older prune every unused volume; `all=false` keeps named ones, as 1.42's default does
  const { deleted, spaceReclaimed } = await req.engine.volume.prune({ all: bool(f.all, 'all') ?? true, label: f.label });
  sendJson(res, { VolumesDeleted: deleted, SpaceReclaimed: spaceReclaimed });
}

export const volumeRoutes: ApiRoute[] = [
  { method: 'GET', path: '/volumes', handler: list },
  { method: 'POST', path: '/volumes/create', handler: create },
  { method: 'POST', path: '/volumes/prune', handler: prune },
  { method: 'GET', path: '/volumes/:name', handler: inspect },
  { method: 'DELETE', path: '/volumes/:name', handler: remove },
];
