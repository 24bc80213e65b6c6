// Image endpoints: list, inspect, pull and import (/images/create), tag, remove, load and save (docker-archive).
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { flag } from './query.js';
import { ApiError, describe } from './errors.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { ndjson } from './streams.js';
import { importFromBody } from './transfer.js';
import { sendJson } from './system.js';
import { createHash } from '../lazy.js';
import { listFilters } from './query.js';
import { imageFilter } from '../engine/imgfilter.js';

type Res = Parameters<ApiRoute['handler']>[1];

/** A temporary directory for one request's archive, removed afterwards whatever happens. */
async function withTemp<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'codex32-img-'));
  try {
    return await fn(join(dir, 'archive.tar'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function list(req: ApiRequest, res: Res): Promise<void> {
  const byId = new Map<string, { Id: string; RepoTags: string[]; Created: number; Size: number; Labels: Record<string, string> }>();
  const all = req.engine.images();
  const keep = imageFilter(listFilters(req.query), all);
  for (const i of all) {
    if (i.kind !== 'oci' || !i.id || !keep(i)) continue;
    const e = byId.get(i.id) ?? { Id: i.id, RepoTags: [], Created: Math.floor((i.createdAt ?? 0) / 1000), Size: i.size ?? 0, Labels: i.labels ?? {} };
    if (i.repository !== '<none>') e.RepoTags.push(`${i.repository}:${i.tag}`);
    byId.set(i.id, e);
  }
  sendJson(res, [...byId.values()].map((e) => ({ ...e, ParentId: '', RepoDigests: [], SharedSize: -1, VirtualSize: e.Size, Containers: -1 })));
}

/**
 * docker's document of codex32's own images (the built-in `host`, imported root filesystems): clients such
 * as docker-compose look an image up before they create a container from it, and pull what is not found.
 */
function ownImageDoc(name: string): Record<string, unknown> {
  const id = `sha256:${createHash('sha256').update(`codex32 image ${name}`).digest('hex')}`;
  const config = { Env: [], Cmd: null, Entrypoint: null, WorkingDir: name === 'host' ? '/app' : '', Labels: {}, User: '' };
  return {
    Id: id, RepoTags: [name.includes(':') ? name : `${name}:latest`], RepoDigests: [], Parent: '', Comment: `codex32 ${name === 'host' ? "built-in image: the host's userland, read-only" : 'imported root filesystem'}`,
    Created: new Date(0).toISOString(), Container: '', ContainerConfig: config, DockerVersion: '', Author: '', Config: config,
    Architecture: process.arch === 'x64' ? 'amd64' : process.arch, Os: 'linux', Size: 0, VirtualSize: 0,
    GraphDriver: { Name: 'overlay', Data: null }, RootFS: { Type: 'layers', Layers: [] }, Metadata: {},
  };
}

async function inspect(req: ApiRequest, res: Res): Promise<void> {
  req.named.image = req.params.name;
  const bare = req.params.name.replace(/:latest$/, '');
  if (req.engine.images().some((i) => i.kind !== 'oci' && i.name === bare)) return sendJson(res, ownImageDoc(bare));
  const i = req.engine.image.inspect(req.params.name);
  sendJson(res, { ...i, Parent: '', Comment: '', Container: '', ContainerConfig: i.Config, DockerVersion: '', Author: '', VirtualSize: i.Size, GraphDriver: { Name: 'overlay', Data: null }, Metadata: {} });
}

/** Pull with docker's progress messages; a failure after the headers is an in-stream error, as docker sends it. */
async function create(req: ApiRequest, res: Res): Promise<void> {
  if (req.query.get('fromSrc')) return importFromBody(req, res);
  const from = req.query.get('fromImage');
  if (!from) throw new ApiError(400, 'fromImage or fromSrc is required');
  const tag = req.query.get('tag');
  const ref = tag && !from.includes('@') ? `${from}:${tag}` : from;
  const send = ndjson(res);
  send({ status: `Pulling from ${from}`, id: tag ?? 'latest' });
  try {
    const img = await req.engine.image.pull(ref, {
      onEvent: (e) => {
        const id = e.digest.slice(7, 19);
        if (e.phase === 'downloading') send({ status: 'Downloading', progressDetail: { current: e.current, total: e.total }, id });
        else if (e.phase === 'exists') send({ status: 'Already exists', progressDetail: {}, id });
        else if (e.phase === 'done') send({ status: 'Pull complete', progressDetail: {}, id });
      },
    });
    send({ status: `Digest: ${img.doc.repoDigests[0]?.split('@')[1] ?? img.id}` });
    send({ status: `Status: Downloaded newer image for ${ref}` });
  } catch (e) {
    const { message } = describe(e);
    send({ errorDetail: { message }, error: message });
  }
  res.end();
}

async function remove(req: ApiRequest, res: Res): Promise<void> {
  req.named.image = req.params.name;
  const lines = req.engine.image.remove([req.params.name], flag(req.query, 'force'));
  sendJson(res, lines.map((l) => (l.startsWith('Untagged: ') ? { Untagged: l.slice(10) } : { Deleted: l.replace(/^Deleted: /, '') })));
}

async function tag(req: ApiRequest, res: Res): Promise<void> {
  req.named.image = req.params.name;
  const repo = req.query.get('repo');
  if (!repo) throw new ApiError(400, 'repo is required');
  req.engine.image.tag(req.params.name, `${repo}:${req.query.get('tag') || 'latest'}`);
  res.writeHead(201, { 'Content-Length': 0 }).end();
}

async function load(req: ApiRequest, res: Res): Promise<void> {
  const loaded = await withTemp(async (file) => {
    await pipeline(req.raw, createWriteStream(file));
    return req.engine.image.load(file);
  });
  const send = ndjson(res);
  for (const i of loaded) for (const t of i.tags.length ? i.tags : [i.id]) send({ stream: `Loaded image: ${t}\n` });
  res.end();
}

async function save(req: ApiRequest, res: Res, names: string[]): Promise<void> {
  if (!names.length) throw new ApiError(400, 'names is required');
  req.named.image = names.join(', ');
  await withTemp(async (file) => {
    await req.engine.image.save(names, file);
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(createReadStream(file), res);
  });
}

export const imageRoutes: ApiRoute[] = [
  { method: 'GET', path: '/images/json', handler: list },
  { method: 'POST', path: '/images/create', handler: create },
  { method: 'POST', path: '/images/load', handler: load },
  { method: 'GET', path: '/images/get', handler: (req, res) => save(req, res, req.query.getAll('names')) },
  { method: 'GET', path: '/images/:name/get', handler: (req, res) => save(req, res, [req.params.name]) },
  { method: 'GET', path: '/images/:name/json', handler: inspect },
  { method: 'POST', path: '/images/:name/tag', handler: tag },
  { method: 'DELETE', path: '/images/:name', handler: remove },
];
