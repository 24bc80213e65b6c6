// POST /build: a tar context body built by the engine's builder, progress streamed as docker's classic builder's JSON messages.
import { runFile } from '../runtime/command.js';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { NetworkMode } from '../config/schema.js';
import { ApiError, describe } from './errors.js';
import { flag } from './query.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { ndjson } from './streams.js';

type Res = Parameters<ApiRoute['handler']>[1];

/** Query parameters this endpoint reads; the others are accepted only at docker's default values. */
const READ = new Set(['t', 'dockerfile', 'buildargs', 'target', 'nocache', 'pull', 'labels', 'q', 'rm', 'forcerm', 'networkmode', 'version', 'session']);
const DEFAULTS = new Set(['', '0', 'false', '{}', '[]', 'null']);

/** A JSON object of strings from a query parameter (buildargs, labels); null values are dropped. */
function jsonRecord(q: URLSearchParams, name: string): Record<string, string> {
  const text = q.get(name);
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ApiError(400, `Expected ${name} to be a JSON object, got \`${text.slice(0, 60)}\``);
  }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ApiError(400, `Expected ${name} to be a JSON object, got \`${text.slice(0, 60)}\``);
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== null).map(([k, x]) => [k, String(x)]));
}

function network(q: URLSearchParams): NetworkMode | undefined {
  const m = q.get('networkmode') ?? '';
  if (m === '' || m === 'default' || m === 'bridge') return undefined;
  if (m === 'host' || m === 'none') return m;
  throw new ApiError(400, `networkmode ${m} is not supported by codex32 build: use default, bridge, host or none`);
}

/** Refuse every parameter codex32 does not apply when it is set to something other than docker's default. */
function checkQuery(q: URLSearchParams): void {
  for (const [k, v] of q) {
    if (READ.has(k) || DEFAULTS.has(v)) continue;
    throw new ApiError(400, `The build parameter ${k}=${v} is not supported by codex32 build; leave it at its default`);
  }
  const version = q.get('version');
  if (version && version !== '1') throw new ApiError(400, 'Only the classic builder (version=1) is supported: set DOCKER_BUILDKIT=0');
}

/** POST /build */
async function build(req: ApiRequest, res: Res): Promise<void> {
  const q = req.query;
  checkQuery(q);
  const options = {
    tags: q.getAll('t').filter(Boolean),
    dockerfile: posix.normalize('/' + (q.get('dockerfile') || 'Dockerfile')).slice(1),
    target: q.get('target') || undefined,
    buildArgs: jsonRecord(q, 'buildargs'),
    labels: jsonRecord(q, 'labels'),
    noCache: flag(q, 'nocache'),
    pull: flag(q, 'pull'),
    network: network(q),
  };
  const quiet = flag(q, 'q');
  const dir = mkdtempSync(join(tmpdir(), 'codex32-build-'));
  try {
    const context = join(dir, 'context');
    mkdirSync(context);
    await pipeline(req.raw, createWriteStream(join(dir, 'context.tar')));
    await runFile('tar', ['-xf', join(dir, 'context.tar'), '-C', context, '--no-same-owner']).catch((cause: Error & { stderr?: string }) => {
      throw new ApiError(400, `The build context is not a tar archive: ${(cause.stderr ?? cause.message).trim()}`);
    });
    const send = ndjson(res);
    const { renderEvent } = await import('../build/build.js');
    try {
      const image = await req.engine.build({ context, ...options }, (e) => {
        if (quiet) return;
        if (e.type === 'built') send({ aux: { ID: e.id } });
        send({ stream: renderEvent(e) });
      });
      if (quiet) send({ stream: `${image.id}\n` });
    } catch (e) {
      const { message } = describe(e);
      send({ errorDetail: { message }, error: message });
    }
    res.end();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const buildRoutes: ApiRoute[] = [{ method: 'POST', path: '/build', handler: build }];
