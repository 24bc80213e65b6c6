// Disk endpoints: container changes, image history, the prunes and /system/df.
import type { ServerResponse } from 'node:http';
import { isEngineError } from '../errors.js';
import { ApiError } from './errors.js';
import { listFilters } from './query.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { sendJson } from './system.js';

async function changes(req: ApiRequest, res: ServerResponse): Promise<void> {
  req.named.container = req.params.id;
  sendJson(res, await req.engine.diff(req.params.id));
}

async function history(req: ApiRequest, res: ServerResponse): Promise<void> {
  req.named.image = req.params.name;
  const steps = req.engine.image.history(req.params.name);
  sendJson(res, steps.map((s) => ({ Id: s.id, Created: Math.floor(s.created / 1000), CreatedBy: s.createdBy, Tags: s.tags.length ? s.tags : null, Size: s.size, Comment: s.comment })));
}

/** A bad filter is the client's mistake (400), as dockerd answers it. */
async function badFilter<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isEngineError(e, 'INVALID_CONFIG')) throw new ApiError(400, e.message);
    throw e;
  }
}

async function pruneContainers(req: ApiRequest, res: ServerResponse): Promise<void> {
  const r = await badFilter(() => req.engine.pruneContainers(listFilters(req.query)));
  sendJson(res, { ContainersDeleted: r.ids.length ? r.ids : null, SpaceReclaimed: r.reclaimed });
}

async function pruneImages(req: ApiRequest, res: ServerResponse): Promise<void> {
  const filters = listFilters(req.query);
  const r = await badFilter(() => req.engine.image.pruneWith({ filters }));
  sendJson(res, { ImagesDeleted: r.deleted.length ? r.deleted.map((id) => ({ Deleted: id })) : null, SpaceReclaimed: r.reclaimed });
}

async function df(req: ApiRequest, res: ServerResponse): Promise<void> {
  const u = await req.engine.diskUsage();
  sendJson(res, {
    LayersSize: u.totals.images.size,
    Images: u.images.map((i) => ({ Id: i.id, ParentId: '', RepoTags: i.tags, RepoDigests: [], Created: Math.floor(i.createdAt / 1000), Size: i.size, SharedSize: -1, VirtualSize: i.size, Labels: {}, Containers: i.containers })),
    Containers: u.containers.map((c) => ({ Id: c.id, Names: [`/${c.name}`], Image: c.image, ImageID: '', Command: '', Created: Math.floor(c.createdAt / 1000), State: c.status, Status: c.status, SizeRw: c.size, SizeRootFs: c.size, Labels: {}, Ports: [], Mounts: [], HostConfig: { NetworkMode: 'default' }, NetworkSettings: { Networks: {} } })),
    Volumes: [],
    BuildCache: [],
  });
}

export const spaceRoutes: ApiRoute[] = [
  { method: 'GET', path: '/containers/:id/changes', handler: changes },
  { method: 'POST', path: '/containers/prune', handler: pruneContainers },
  { method: 'POST', path: '/images/prune', handler: pruneImages },
  { method: 'GET', path: '/images/:name/history', handler: history },
  { method: 'GET', path: '/system/df', handler: df },
  // the build cache: the untagged images `build` keeps for its cached steps, none a container uses
  {
    method: 'POST',
    path: '/build/prune',
    handler: async (req, res) => {
      const r = req.engine.image.pruneBuildCache();
      sendJson(res, { CachesDeleted: r.deleted.length ? r.deleted : null, SpaceReclaimed: r.reclaimed });
    },
  },
];
