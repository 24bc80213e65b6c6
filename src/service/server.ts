// The bot runner service: fastify over the same engine and executor the CLI uses, plus the dashboard.
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import { AdaptiveExecutor } from '../executor/adaptive.js';
import { BotManager } from '../executor/manager.js';
import { cpuPercent, type StatsSample } from '../engine/observe.js';
import { containerUrl, networkMode, portMap } from '../engine/netinfo.js';
import { hostUsage, type CpuTimes } from '../monitor/host.js';
import { statusFor } from './errors.js';
import { openapi } from './openapi.js';

export interface ServiceOptions {
  engine: ContainerEngine;
  host?: string;
  port?: number;
  token?: string;
  /** pino logging of requests (off in tests) */
  logger?: boolean;
}

const WEB = fileURLToPath(new URL('../../web/', import.meta.url));
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
const VERSION = '0.1.0';

/** Build the service (not listening yet); returns the app and the token mutating calls need. */
export async function buildService(opts: ServiceOptions): Promise<{ app: FastifyInstance; token: string }> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host) && !opts.token)
    throw new EngineError('INVALID_CONFIG', `Refusing to listen on ${host} without a token: set CODEX32_TOKEN (or --token) for any non-loopback bind.`);
  const token = opts.token ?? randomBytes(18).toString('base64url');
  const engine = opts.engine;
  const executor = new AdaptiveExecutor(engine);
  const app = Fastify({ logger: opts.logger ? { level: process.env.LOG_LEVEL ?? 'info' } : false, bodyLimit: 64 * 1024 * 1024 });
  app.addContentTypeParser('application/x-tar', (_req, payload, done) => done(null, payload));

  // every call needs the bearer token but the service description, health, the API description and
  // the dashboard's static files: logs, stats and events can hold secrets a bot printed
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0];
    const open = (req.method === 'GET' || req.method === 'HEAD') && (path === '/' || path === '/health' || path === '/openapi.json' || path.startsWith('/web/'));
    if (open) return;
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${token}`)
      return reply.code(401).send({ error: 'UNAUTHORIZED', message: 'Send `Authorization: Bearer <token>` (printed when the service starts); only /, /health, /openapi.json and the dashboard are open.' });
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof EngineError) return reply.code(statusFor(err.code)).send({ error: err.code, message: err.message, ...err.context });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'BAD_REQUEST', message: err.message });
    reply.log.error(err);
    return reply.code(500).send({ error: 'INTERNAL', message: err.message });
  });

  const body = (req: FastifyRequest): Record<string, unknown> => {
    if (!req.body || typeof req.body !== 'object' || Array.isArray(req.body))
      throw new EngineError('INVALID_CONFIG', 'Expected a JSON object as the request body');
    return req.body as Record<string, unknown>;
  };
  const num = (v: unknown, what: string): number | undefined => {
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new EngineError('INVALID_CONFIG', `Expected ${what} to be a number, got \`${String(v)}\``);
    return n;
  };

  // ---- service
  app.get('/', async (req, reply) => {
    if ((req.headers.accept ?? '').includes('text/html')) return reply.type('text/html').send(readFileSync(join(WEB, 'index.html')));
    const info = engine.info();
    return {
      name: 'codex32',
      version: VERSION,
      container_engine: 'custom',
      deployment_types: ['LOCAL_PROCESS', 'CUSTOM_CONTAINER', 'KUBERNETES_POD'],
      isolation_levels: Object.entries(info.levels).map(([level, l]) => ({ level, supported: l.supported, missing: l.missing })),
      dashboard: '/',
      openapi: '/openapi.json',
    };
  });
  app.get('/web/:file', async (req, reply) => {
    const file = (req.params as { file: string }).file;
    if (!/^[a-z0-9-]+\.(js|css)$/.test(file) || !existsSync(join(WEB, file))) return reply.code(404).send({ error: 'NOT_FOUND', message: `No asset ${file}` });
    return reply.type(file.endsWith('.js') ? 'text/javascript' : 'text/css').send(readFileSync(join(WEB, file)));
  });
  app.get('/health', async () => {
    const integrity = engine.store.db.pragma('quick_check', { simple: true });
    const info = engine.info();
    return {
      status: integrity === 'ok' ? 'ok' : 'degraded',
      container_engine: 'custom',
      engine: { version: VERSION, storage: info.storageDir, defaultIsolation: info.defaultIsolation },
      database: { schemaVersion: info.schemaVersion, integrity },
      host: { root: info.root, cgroup: info.cgroup.version, controllers: Object.keys(info.cgroup.controllers), levels: info.levels },
    };
  });
  app.get('/openapi.json', async () => openapi(VERSION));

  // ---- containers
  const summary = (r: Awaited<ReturnType<ContainerEngine['list']>>[number]) => ({
    id: r.id, name: r.name, image: r.config.image, status: r.status, isolation: r.config.isolation, created: r.createdAt,
    startedAt: r.state.startedAt ?? null, exitCode: r.state.exitCode ?? null, restarts: r.state.restartCount, pid: r.status === 'running' ? (r.state.init?.pid ?? null) : null,
    url: containerUrl(r), ports: portMap(r.config.publish ?? []), network: networkMode(r.config), bot: r.config.labels['codex32.bot'] ?? null,
  });
  app.get('/api/containers', async (req) => (await engine.list({ all: (req.query as { all?: string }).all !== '0' })).map(summary));
  app.post('/api/containers', async (req, reply) => {
    const { start, ...config } = body(req);
    const c = await engine.create(config as never);
    if (start !== false) {
      try {
        await engine.start(c.id);
      } catch (e) {
        await engine.remove(c.id, { force: true }).catch(() => undefined);
        throw e;
      }
    }
    return reply.code(201).send(await engine.inspect(c.id));
  });
  app.get('/api/containers/:id', async (req) => engine.inspect((req.params as { id: string }).id));
  for (const verb of ['start', 'stop', 'restart', 'kill'] as const) {
    app.post(`/api/containers/:id/${verb}`, async (req) => {
      const id = (req.params as { id: string }).id;
      const q = (req.query ?? {}) as { t?: string; signal?: string };
      if (verb === 'start') await engine.start(id);
      if (verb === 'stop') await engine.stop(id, { timeout: num(q.t, '`t`') });
      if (verb === 'restart') await engine.restart(id, { timeout: num(q.t, '`t`') });
      if (verb === 'kill') await engine.kill(id, num(q.signal, '`signal`') ?? 9);
      return engine.inspect(id);
    });
  }
  app.delete('/api/containers/:id', async (req, reply) => {
    await engine.remove((req.params as { id: string }).id, { force: (req.query as { force?: string }).force === '1' });
    return reply.code(204).send();
  });
  app.get('/api/containers/:id/logs', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const q = req.query as { tail?: string; follow?: string };
    const gen = engine.logs(id, { tail: num(q.tail, '`tail`'), follow: q.follow === '1' });
    return streamLogs(req, reply, gen);
  });
  app.get('/api/containers/:id/stats', async (req) => {
    const id = (req.params as { id: string }).id;
    const [a] = await engine.stats([id]);
    await new Promise((r) => setTimeout(r, 250));
    const [b] = await engine.stats([id]);
    if (!b) throw new EngineError('INVALID_STATE', `Container ${id} is not running: it has no stats.`);
    return statsView(a, b);
  });
  app.post('/api/containers/:id/exec', async (req) => {
    const b = body(req);
    if (!Array.isArray(b.cmd) || !b.cmd.every((x) => typeof x === 'string') || !b.cmd.length)
      throw new EngineError('INVALID_CONFIG', 'Expected `cmd` to be a non-empty array of strings', { context: { field: 'cmd' } });
    const r = await engine.exec((req.params as { id: string }).id, b.cmd as string[], { env: b.env as Record<string, string>, workdir: b.workdir as string, stdio: 'pipe' });
    return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  });
  app.get('/api/containers/:id/archive', async (req, reply) => {
    const path = (req.query as { path?: string }).path;
    if (!path) throw new EngineError('INVALID_CONFIG', 'Expected `path` (a path inside the container)', { context: { field: 'path' } });
    const { proc } = await engine.copyFrom((req.params as { id: string }).id, path);
    return reply.type('application/x-tar').send(proc.stdout);
  });
  app.put('/api/containers/:id/archive', async (req, reply) => {
    const path = (req.query as { path?: string }).path;
    if (!path) throw new EngineError('INVALID_CONFIG', 'Expected `path` (a directory inside the container)', { context: { field: 'path' } });
    const tmp = mkdtempSync(join(engine.settings.storageDir, '.upload-'));
    try {
      await pipeline(req.body as NodeJS.ReadableStream, createWriteStream(join(tmp, 'a.tar')));
      await engine.copyTo((req.params as { id: string }).id, path, join(tmp, 'a.tar'));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return reply.code(204).send();
  });

  // ---- bots
  const botView = async (name: string) => ({ ...(await executor.status(name)), definition: engine.store.getBot(name)?.config });
  app.get('/api/bots', async () => Promise.all(executor.list().map((b) => botView(b.name))));
  app.post('/api/bots', async (req, reply) => {
    const b = body(req);
    const list = Array.isArray(b.bots) ? b.bots : [b];
    const r = await executor.apply(list as never, { start: (req.query as { start?: string }).start !== '0' });
    return reply.code(201).send(r);
  });
  app.get('/api/bots/:name', async (req) => {
    const name = (req.params as { name: string }).name;
    executor.get(name);
    return botView(name);
  });
  app.put('/api/bots/:name', async (req) => {
    const name = (req.params as { name: string }).name;
    const b = body(req);
    if (b.name !== undefined && b.name !== name) throw new EngineError('INVALID_CONFIG', `Expected \`name\` to be ${name} (the bot in the path), got \`${String(b.name)}\``, { context: { field: 'name' } });
    await executor.apply([{ ...b, name } as never], { start: false });
    return botView(name);
  });
  app.delete('/api/bots/:name', async (req, reply) => {
    await executor.remove((req.params as { name: string }).name);
    return reply.code(204).send();
  });
  for (const verb of ['run', 'stop', 'restart'] as const) {
    app.post(`/api/bots/:name/${verb}`, async (req) => {
      const name = (req.params as { name: string }).name;
      if (verb === 'run') await executor.runBot(name);
      if (verb === 'stop') await executor.stopBot(name);
      if (verb === 'restart') await executor.restartBot(name);
      return botView(name);
    });
  }
  app.get('/api/bots/:name/status', async (req) => executor.status((req.params as { name: string }).name));
  app.get('/api/bots/:name/logs', async (req, reply) => {
    const q = req.query as { tail?: string; follow?: string };
    return streamLogs(req, reply, executor.logs((req.params as { name: string }).name, { tail: num(q.tail, '`tail`'), follow: q.follow === '1' }));
  });
  app.get('/api/bots/:name/stats', async (req) => {
    const name = (req.params as { name: string }).name;
    const a = await executor.stats(name);
    await new Promise((r) => setTimeout(r, 250));
    const b = await executor.stats(name);
    if (!b) throw new EngineError('INVALID_STATE', `Bot ${name} is not running: it has no stats.`);
    return statsView(a, b);
  });
  app.get('/api/bots/:name/manifest', async (req) => executor.manifest((req.params as { name: string }).name));

  // ---- live views for the dashboard: every running container's usage, and the event stream
  let lastStats = new Map<string, StatsSample>();
  app.get('/api/stats', async () => {
    const samples = [...(await engine.stats()), ...(await executor.localStats())];
    const out = samples.map((s) => statsView(lastStats.get(s.id), s));
    lastStats = new Map(samples.map((s) => [s.id, s]));
    return out;
  });
  let lastHost: CpuTimes | undefined;
  app.get('/api/host', async () => {
    const { times, ...usage } = hostUsage(lastHost);
    lastHost = times;
    return usage;
  });
  app.get('/api/events', async (req, reply) => {
    const q = req.query as { since?: string; follow?: string };
    const since = num(q.since, '`since`') ?? 0;
    if (q.follow !== '1') return engine.events({ since });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let last = 0;
    // the recent past first, so a fresh dashboard is not empty
    for (const e of engine.events({ since: since || Date.now() - 3_600_000 }).slice(-30)) {
      res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      last = e.id;
    }
    let closed = false;
    req.raw.on('close', () => (closed = true));
    while (!closed) {
      await engine.list(); // reconcile: exits become events
      for (const e of engine.events({ afterId: last })) {
        res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        last = e.id;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    res.end();
  });

  return { app, token };
}

function statsView(prev: StatsSample | undefined, s: StatsSample) {
  return {
    id: s.id, name: s.name, cpuPercent: Number(cpuPercent(prev, s).toFixed(2)), memory: s.memUsage ?? s.rss, rss: s.rss,
    memoryLimit: s.memLimit ?? null, pids: s.pids, uptimeMs: s.uptimeMs, restarts: s.restarts, time: s.time,
  };
}

/** Logs as plain text, or as server-sent events when the client asks for them (follow). */
async function streamLogs(req: FastifyRequest, reply: FastifyReply, gen: AsyncGenerator<{ stream: string; data: Buffer; full: boolean; time: string }>) {
  const sse = (req.headers.accept ?? '').includes('text/event-stream');
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
  let closed = false;
  req.raw.on('close', () => (closed = true));
  for await (const rec of gen) {
    if (closed) break;
    if (sse) res.write(`event: ${rec.stream}\ndata: ${JSON.stringify({ time: rec.time, line: rec.data.toString('utf8') })}\n\n`);
    else res.write(rec.full ? Buffer.concat([rec.data, Buffer.from('\n')]) : rec.data);
  }
  res.end();
}

/** Serve until SIGINT/SIGTERM; containers keep running afterwards (daemonless) unless stopOnExit. */
export async function serve(opts: ServiceOptions & { stopOnExit?: boolean; reconcileMs?: number; onListen?: (url: string, token: string) => void }): Promise<FastifyInstance> {
  const { app, token } = await buildService(opts);
  const executor = new AdaptiveExecutor(opts.engine);
  await opts.engine.list({ all: true }); // reconcile everything first
  await opts.engine.startAll().catch(() => []);
  await executor.restore({ initial: true });
  // while the service runs, a reconcile every few seconds repairs what a lost supervisor left, and the
  // restart strategies that need a watcher (memory, cron, watch) and the log copies are carried out
  const manager = new BotManager(executor, opts.reconcileMs ?? 3000);
  manager.start();
  const url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8032 });
  opts.onListen?.(url, token);
  const shutdown = async () => {
    manager.stop();
    if (opts.stopOnExit) for (const r of await opts.engine.list()) await opts.engine.stop(r.id).catch(() => undefined);
    await app.close();
    opts.engine.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  return app;
}

