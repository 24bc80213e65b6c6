// Endpoints for the verbs that move images and filesystems: commit, export, import (fromSrc), push
// (X-Registry-Auth) and login (/auth).
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Credentials } from '../images/auth.js';
import { ApiError, describe } from './errors.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { ndjson } from './streams.js';
import { sendJson } from './system.js';

/** POST /commit?container=&repo=&tag=: the container's changes as a new image on its own. */
async function commit(req: ApiRequest, res: ServerResponse): Promise<void> {
  const container = req.query.get('container');
  if (!container) throw new ApiError(400, 'container is required');
  req.named.container = container;
  const repo = req.query.get('repo');
  if (!repo) throw new ApiError(400, 'repo is required: codex32 names every committed image (docker commit CONTAINER NAME[:TAG])');
  if (req.query.get('changes')) throw new ApiError(400, 'codex32 commit does not take --change: the container\'s own settings become the image config');
  const img = await req.engine.image.commit(container, `${repo}:${req.query.get('tag') || 'latest'}`);
  sendJson(res, { Id: img.id }, 201);
}

/** GET /containers/{id}/export: the container's filesystem as a tar stream. */
async function exportFs(req: ApiRequest, res: ServerResponse): Promise<void> {
  req.named.container = req.params.id;
  const { proc } = await req.engine.exportFs(req.params.id);
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await pipeline(proc.stdout!, res).catch(() => proc.kill());
  await proc.catch(() => undefined);
}

/** POST /images/create?fromSrc=-&repo=&tag=: the request body is a root filesystem tarball, made a one-layer OCI image repo[:tag]. */
export async function importFromBody(req: ApiRequest, res: ServerResponse): Promise<void> {
  if (req.query.get('fromSrc') !== '-') throw new ApiError(400, 'fromSrc must be - (the tarball in the request body): codex32 does not fetch a URL');
  const repo = req.query.get('repo');
  if (!repo) throw new ApiError(400, 'repo is required: codex32 names every imported image (docker import FILE NAME)');
  const tag = req.query.get('tag');
  const name = tag ? `${repo}:${tag}` : repo; // the docker CLI sends the whole NAME[:TAG] as repo
  const dir = mkdtempSync(join(tmpdir(), 'codex32-import-'));
  try {
    await pipeline(req.raw, createWriteStream(join(dir, 'rootfs.tar')));
    const img = await req.engine.image.importTar(join(dir, 'rootfs.tar'), name);
    const send = ndjson(res);
    send({ status: img.id });
    res.end();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** docker's X-Registry-Auth: base64url JSON {username, password} (an empty or "{}" one means none). */
function registryAuth(req: ApiRequest): Credentials | undefined {
  const raw = req.raw.headers['x-registry-auth'];
  if (typeof raw !== 'string' || !raw) return undefined;
  try {
    const doc = JSON.parse(Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as { username?: string; password?: string };
    return doc.username && doc.password ? { username: doc.username, password: doc.password } : undefined;
  } catch {
    throw new ApiError(400, 'X-Registry-Auth is not base64url-encoded JSON');
  }
}

/** POST /images/{name}/push?tag=: progress as docker's NDJSON; a failure after the headers is an in-stream error. */
async function push(req: ApiRequest, res: ServerResponse): Promise<void> {
  req.named.image = req.params.name;
  const tag = req.query.get('tag');
  const name = tag && !req.params.name.includes('@') ? `${req.params.name}:${tag}` : req.params.name;
  req.engine.image.inspect(name); // a missing image is a 404 before any output, as dockerd answers it
  const credentials = registryAuth(req);
  const send = ndjson(res);
  send({ status: `The push refers to repository [${req.params.name}]` });
  try {
    const r = await req.engine.image.push(name, undefined, {
      credentials,
      onEvent: (e) => {
        const id = e.digest.slice(7, 19);
        if (e.phase === 'downloading') send({ status: 'Pushing', progressDetail: { current: e.current, total: e.total }, id });
        else if (e.phase === 'exists') send({ status: 'Layer already exists', progressDetail: {}, id });
        else if (e.phase === 'done') send({ status: 'Pushed', progressDetail: {}, id });
      },
    });
    const size = req.engine.image.inspect(name).Size;
    send({ status: `${tag || 'latest'}: digest: ${r.digest} size: ${size}` });
    send({ progressDetail: {}, aux: { Tag: tag || 'latest', Digest: r.digest, Size: size } });
  } catch (e) {
    const { message } = describe(e);
    send({ errorDetail: { message }, error: message });
  }
  res.end();
}

/** POST /auth: check credentials against the registry and keep them, as codex32 login does. */
async function auth(req: ApiRequest, res: ServerResponse): Promise<void> {
  const b = await req.json<{ username?: string; password?: string; serveraddress?: string }>();
  const registry = (b.serveraddress || 'docker.io').replace(/^https?:\/\//, '').replace(/\/v[12]\/?$/, '').replace(/\/$/, '');
  await req.engine.image.login(registry === 'index.docker.io' ? 'docker.io' : registry, { username: b.username ?? '', password: b.password ?? '' });
  sendJson(res, { Status: 'Login Succeeded', IdentityToken: '' });
}

export const transferRoutes: ApiRoute[] = [
  { method: 'POST', path: '/commit', handler: commit },
  { method: 'GET', path: '/containers/:id/export', handler: exportFs },
  { method: 'POST', path: '/images/:name/push', handler: push },
  { method: 'POST', path: '/auth', handler: auth },
];
