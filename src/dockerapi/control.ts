// Container endpoints that act in place: top, rename, pause, unpause, update and changes.
import type { ServerResponse } from 'node:http';
import { isEngineError } from '../errors.js';
import { ApiError } from './errors.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { sendJson } from './system.js';

/** The container a request names (the docker CLI's "No such container: X" comes from here). */
function ref(req: ApiRequest): string {
  req.named.container = req.params.id;
  return req.params.id;
}

async function top(req: ApiRequest, res: ServerResponse): Promise<void> {
  sendJson(res, await req.engine.top(ref(req), req.query.get('ps_args') ?? undefined));
}

async function rename(req: ApiRequest, res: ServerResponse): Promise<void> {
  const name = req.query.get('name');
  if (!name) throw new ApiError(400, 'name is required: POST /containers/{id}/rename?name=NEW');
  await req.engine.rename(ref(req), name);
  res.writeHead(204).end();
}

/** pause and unpause; docker answers 409 for a container that is not running, or already (un)paused. */
function freeze(paused: boolean) {
  return async (req: ApiRequest, res: ServerResponse): Promise<void> => {
    try {
      await (paused ? req.engine.pause(ref(req)) : req.engine.unpause(ref(req)));
    } catch (e) {
      if (isEngineError(e, 'INVALID_STATE')) throw new ApiError(409, e.message);
      throw e;
    }
    res.writeHead(204).end();
  };
}

/** Body fields update applies; any other non-empty one is refused by name rather than silently ignored. */
const UPDATABLE = new Set(['Memory', 'MemorySwap', 'NanoCpus', 'CpuShares', 'PidsLimit', 'RestartPolicy']);
const empty = (v: unknown) => v === undefined || v === null || v === 0 || v === '' || (Array.isArray(v) && !v.length) || (typeof v === 'object' && !Array.isArray(v) && !Object.keys(v as object).length);

async function update(req: ApiRequest, res: ServerResponse): Promise<void> {
  const b = await req.json<Record<string, unknown>>();
  const other = Object.keys(b).filter((k) => !UPDATABLE.has(k) && !empty(b[k]));
  if (other.length) throw new ApiError(400, `codex32 cannot update ${other.join(', ')}: only Memory, MemorySwap, NanoCpus, CpuShares, PidsLimit and RestartPolicy can be changed`);
  const num = (k: string) => (typeof b[k] === 'number' && b[k] !== 0 ? (b[k] as number) : undefined);
  const rp = b.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | undefined;
  const nano = num('NanoCpus');
  const pids = num('PidsLimit');
  req.engine.update(ref(req), {
    memory: num('Memory'),
    memorySwap: num('MemorySwap'),
    cpus: nano !== undefined ? nano / 1e9 : undefined,
    cpuShares: num('CpuShares'),
    pids: pids !== undefined ? Math.max(0, pids) : undefined,
    restart: rp?.Name ? { name: rp.Name as 'no', maxRetries: rp.MaximumRetryCount ?? 0 } : undefined,
  });
  sendJson(res, { Warnings: [] });
}

export const controlRoutes: ApiRoute[] = [
  { method: 'GET', path: '/containers/:id/top', handler: top },
  { method: 'POST', path: '/containers/:id/rename', handler: rename },
  { method: 'POST', path: '/containers/:id/pause', handler: freeze(true) },
  { method: 'POST', path: '/containers/:id/unpause', handler: freeze(false) },
  { method: 'POST', path: '/containers/:id/update', handler: update },
];
