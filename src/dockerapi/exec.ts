// Exec endpoints: create, start (detached, hijacked, or a plain stream for dockerode), inspect, resize.
// Exec instances live in this service's memory, as they do in dockerd's: they are gone when it stops.
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { ApiError } from './errors.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { frame } from './streams.js';
import { sendJson } from './system.js';

interface ExecInstance {
  id: string;
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  user?: string;
  env: Record<string, string>;
  workdir?: string;
  running: boolean;
  exitCode: number | null;
  /** the helper's pid: known once spawned (read when inspected) */
  pid: number;
  resize?: (rows: number, cols: number) => void;
}

const execs = new Map<string, ExecInstance>();
const MAX_KEPT = 1000; // finished execs are forgotten oldest first beyond this

function lookup(req: ApiRequest): ExecInstance {
  const e = execs.get(req.params.id);
  if (!e) throw new ApiError(404, `No such exec instance: ${req.params.id}`);
  return e;
}

async function create(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  req.named.container = req.params.id;
  const row = req.engine.get(req.params.id);
  if (row.status !== 'running') throw new ApiError(409, `Container ${row.id} is not running`);
  if (row.state.paused) throw new ApiError(409, `Container ${row.id} is paused, unpause the container before exec`);
  const b = await req.json<{ Cmd?: string[] | string; Tty?: boolean; AttachStdin?: boolean; AttachStdout?: boolean; AttachStderr?: boolean; User?: string; Env?: string[]; WorkingDir?: string; Privileged?: boolean }>();
  if (b.Privileged) throw new ApiError(400, 'Privileged is not supported by codex32: an exec gets the container\'s own capabilities');
  const cmd = typeof b.Cmd === 'string' ? [b.Cmd] : (b.Cmd ?? []);
  if (!cmd.length) throw new ApiError(400, 'No exec command specified');
  const env: Record<string, string> = {};
  for (const e of b.Env ?? []) if (e.includes('=')) env[e.slice(0, e.indexOf('='))] = e.slice(e.indexOf('=') + 1);
  const id = randomBytes(32).toString('hex');
  execs.set(id, { id, containerId: row.id, cmd, tty: !!b.Tty, stdin: !!b.AttachStdin, stdout: b.AttachStdout !== false, stderr: b.AttachStderr !== false, user: b.User || undefined, env, workdir: b.WorkingDir || undefined, running: false, exitCode: null, pid: 0 });
  for (const [k, e] of execs) if (execs.size > MAX_KEPT && !e.running) execs.delete(k);
  sendJson(res, { Id: id }, 201);
}

async function start(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const e = lookup(req);
  const b = await req.json<{ Detach?: boolean; Tty?: boolean }>();
  if (e.running || e.exitCode !== null) throw new ApiError(409, `Exec ${e.id} has already been started`);
  const opts = { user: e.user, env: e.env, workdir: e.workdir, tty: e.tty };
  e.running = true;
  if (b.Detach) {
    const p = req.engine.execStream(e.containerId, e.cmd, opts);
    Object.defineProperty(e, 'pid', { get: () => p.pid ?? 0 });
    p.stdin?.end(); // as dockerd: a detached exec reads nothing and its output is discarded
    p.stdout?.resume();
    p.stderr?.resume();
    void p.exitCode.then((c) => ((e.exitCode = c), (e.running = false)), () => ((e.exitCode = 126), (e.running = false)));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 0 }).end();
    return;
  }
  const out = req.stream(!e.tty);
  const stdin = e.stdin && out.input ? new PassThrough() : undefined;
  let p;
  try {
    p = req.engine.execStream(e.containerId, e.cmd, { ...opts, stdin });
  } catch (err) {
    e.running = false;
    e.exitCode = 126;
    throw err;
  }
  Object.defineProperty(e, 'pid', { get: () => p.pid ?? 0 });
  e.resize = p.resize;
  if (!stdin) p.stdin?.end();
  if (stdin && out.input) {
    out.input.pipe(stdin);
    out.input.resume();
  }
  const pump = (s: NodeJS.ReadableStream | null, n: 1 | 2, want: boolean) =>
    new Promise<void>((r) => {
      if (!s) return r();
      s.on('data', (d: Buffer) => want && out.write(e.tty ? d : frame(n, d)));
      s.on('end', () => r());
      s.on('error', () => r());
    });
  void out.closed.then(() => e.running && p.kill('SIGTERM'));
  const [code] = await Promise.all([p.exitCode.catch(() => 126), pump(p.stdout, 1, e.stdout), pump(p.stderr, 2, e.stderr)]);
  // recorded before the stream closes: the docker CLI reads the exit code right after EOF
  e.exitCode = code;
  e.running = false;
  out.end();
}

async function inspect(req: ApiRequest, res: Parameters<ApiRoute['handler']>[1]): Promise<void> {
  const e = lookup(req);
  sendJson(res, {
    ID: e.id,
    ContainerID: e.containerId,
    Running: e.running,
    ExitCode: e.exitCode,
    Pid: e.pid,
    OpenStdin: e.stdin,
    OpenStdout: e.stdout,
    OpenStderr: e.stderr,
    CanRemove: false,
    DetachKeys: '',
    ProcessConfig: { tty: e.tty, entrypoint: e.cmd[0], arguments: e.cmd.slice(1), privileged: false, user: e.user ?? '' },
  });
}

export const execRoutes: ApiRoute[] = [
  { method: 'POST', path: '/containers/:id/exec', handler: create },
  { method: 'POST', path: '/exec/:id/start', handler: start },
  { method: 'GET', path: '/exec/:id/json', handler: inspect },
  {
    method: 'POST',
    path: '/exec/:id/resize',
    handler: async (req, res) => {
      const e = lookup(req);
      if (!e.tty || !e.running) throw new ApiError(409, `Exec ${e.id} has no running terminal to resize`);
      e.resize?.(Number(req.query.get('h')), Number(req.query.get('w')));
      res.writeHead(200, { 'Content-Length': 0 }).end();
    },
  },
];
