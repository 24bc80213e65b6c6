// The HTTP service against a real server on a random loopback port.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { buildService } from '../src/service/server.js';
import { ROOT } from './helpers.js';

let app: FastifyInstance;
let base: string;
let token: string;
let engine: ContainerEngine;
const storage = mkdtempSync(join(tmpdir(), 'c32-svc-'));

beforeAll(async () => {
  engine = new ContainerEngine({ storageDir: storage, isolation: 'minimal' });
  ({ app, token } = await buildService({ engine }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  for (const r of await engine.list({ all: true })) await engine.remove(r.id, { force: true });
  await app.close();
  engine.close();
  rmSync(storage, { recursive: true, force: true });
});

const call = async (method: string, path: string, body?: unknown, auth = true) => {
  const r = await fetch(base + path, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json };
};

describe('service', () => {
  it('GET / names the service, GET /health and /openapi.json answer', async () => {
    const root = await call('GET', '/');
    expect(root.json).toMatchObject({ name: 'codex32', container_engine: 'custom', deployment_types: ['LOCAL_PROCESS', 'CUSTOM_CONTAINER', 'KUBERNETES_POD'] });
    expect(root.json.isolation_levels.map((l: { level: string }) => l.level)).toEqual(['minimal', 'standard', 'strict']);
    const html = await fetch(base + '/', { headers: { accept: 'text/html' } });
    expect(await html.text()).toContain('codex32 <span>bot runner');
    expect((await call('GET', '/health', undefined, false)).json).toMatchObject({ status: 'ok', container_engine: 'custom', database: { integrity: 'ok' } });
    expect((await call('GET', '/openapi.json', undefined, false)).status).toBe(200);
    const spec = (await call('GET', '/openapi.json')).json;
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toContain('/api/bots/{name}/run');
  });

  it('a call without the token gets 401 (reads too: logs can hold secrets); a wrong token too', async () => {
    expect((await call('POST', '/api/containers', { image: 'host', command: ['true'] }, false)).status).toBe(401);
    const r = await fetch(base + '/api/bots/x/run', { method: 'POST', headers: { authorization: 'Bearer wrong' } });
    expect(r.status).toBe(401);
    for (const path of ['/api/containers', '/api/containers/x/logs', '/api/bots/x/logs', '/api/events', '/api/stats'])
      expect((await call('GET', path, undefined, false)).status).toBe(401);
    expect((await call('GET', '/api/containers')).status).toBe(200);
    expect((await fetch(base + '/web/app.js')).status).toBe(200);
  });

  it('a bad body gets 400 naming the field and what is expected', async () => {
    const r = await call('POST', '/api/containers', { image: 'host', command: ['true'], limits: { memory: -5 } });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('INVALID_CONFIG');
    expect(r.json.message).toContain('limits.memory');
    const bad = await call('POST', '/api/containers/x/exec', { cmd: 'ls' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ field: 'cmd' });
    expect(bad.json.message).toContain('non-empty array of strings');
    const notObj = await call('POST', '/api/bots', [1, 2]);
    expect(notObj.status).toBe(400);
  });

  it('a bot definition with a bad field is refused, the field named, nothing half-applied', async () => {
    const r = await call('POST', '/api/bots', {
      bots: [
        { name: 'good', script: join(ROOT, 'bots', 'heartbeat.py') },
        { name: 'bad', script: join(ROOT, 'bots', 'heartbeat.py'), deployment: { limits: { memory: 'lots' } } },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toContain('bot bad: deployment.limits.memory');
    expect(r.json.message).toContain('a size such as 64m');
    expect((await call('GET', '/api/bots')).json).toEqual([]);
  });

  it('an unknown id gets 404, an illegal transition 409', async () => {
    expect((await call('GET', '/api/containers/nosuch')).status).toBe(404);
    expect((await call('POST', '/api/bots/nosuch/run')).status).toBe(404);
    const c = await call('POST', '/api/containers', { image: 'host', command: ['true'], name: 'short', start: false });
    expect(c.status).toBe(201);
    const k = await call('POST', '/api/containers/short/kill');
    expect(k.status).toBe(409);
    expect(k.json.error).toBe('INVALID_STATE');
    expect((await call('POST', '/api/containers', { image: 'host', command: ['true'], name: 'short' })).status).toBe(409);
  });

  it('drives a container: create, exec, archive both ways, logs, stats, stop, remove', async () => {
    const c = await call('POST', '/api/containers', { image: 'host', command: ['sh', '-c', 'echo hello; sleep 60'], name: 'api1' });
    expect(c.status).toBe(201);
    expect(c.json.State.Running).toBe(true);
    const ex = await call('POST', '/api/containers/api1/exec', { cmd: ['sh', '-c', 'echo $FOO; exit 3'], env: { FOO: 'bar' } });
    expect(ex.json).toEqual({ exitCode: 3, stdout: 'bar\n', stderr: '' }); // exact output, final newline kept
    const dir = mkdtempSync(join(storage, 'up-'));
    writeFileSync(join(dir, 'up.txt'), 'uploaded\n');
    const tar = execFileSync('tar', ['-cf', '-', '-C', dir, 'up.txt']);
    const put = await fetch(`${base}/api/containers/api1/archive?path=/`, { method: 'PUT', body: tar, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' } });
    expect(put.status).toBe(204);
    const got = Buffer.from(await (await fetch(`${base}/api/containers/api1/archive?path=/up.txt`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
    expect(got.toString('latin1')).toContain('uploaded');
    expect((await call('GET', '/api/containers/api1/logs?tail=5')).json).toBe('hello\n');
    const st = await call('GET', '/api/containers/api1/stats');
    expect(st.json.pids).toBeGreaterThanOrEqual(1);
    expect((await call('POST', '/api/containers/api1/stop?t=1')).json.State.Status).toBe('exited');
    expect((await call('DELETE', '/api/containers/api1')).status).toBe(204);
    const events = (await call('GET', '/api/events')).json as Array<{ type: string; name: string }>;
    expect(events.filter((e) => e.name === 'api1').map((e) => e.type)).toEqual(['create', 'start', 'exec', 'stop', 'die', 'remove']);
  });

  it('follows logs as server-sent events', async () => {
    await call('POST', '/api/containers', { image: 'host', command: ['sh', '-c', 'echo one; sleep 0.3; echo two'], name: 'sse' });
    const r = await fetch(`${base}/api/containers/sse/logs?follow=1`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
    const text = await r.text();
    expect(text).toContain('event: stdout\ndata: {"time":');
    expect(text).toContain('"line":"two"');
  });
});
