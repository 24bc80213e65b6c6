// POST /containers/{id}/attach and /resize: what `docker run` in the foreground uses. A container with a
// terminal or open stdin is relayed through the supervisor's attach socket (connected at start, so no
// output is missed); any other streams its log from the moment of attaching until it stops.
import { closeSync, openSync } from 'node:fs';
import type { ContainerEngine } from '../engine/engine.js';
import { flag } from './query.js';
import { ApiError } from './errors.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { frame, type Output } from './streams.js';

type AttachSession = Awaited<ReturnType<ContainerEngine['attach']>>;

/** Clients waiting for a created container to start, by id: start connects them first. */
const waiting = new Map<string, (session: AttachSession) => void>();
/** Live terminal sessions, by container id, for /resize. */
const sessions = new Map<string, AttachSession>();

/** Start a container, handing its terminal to a client that attached before the start. */
export async function startWithAttach(engine: ContainerEngine, id: string): Promise<void> {
  const give = waiting.get(id);
  if (!give) return engine.start(id);
  waiting.delete(id);
  give(await engine.startAttached(id));
}

function relaySession(session: AttachSession, out: Output, tty: boolean, id: string): Promise<void> {
  sessions.set(id, session);
  session.on('output', (o) => out.write(tty ? o.data : frame(o.stream === 'stderr' ? 2 : 1, o.data)));
  out.input?.on('data', (d: Buffer) => void session.input(d));
  out.input?.on('end', () => void session.endInput());
  out.input?.resume();
  session.resume();
  void out.closed.then(() => session.detach());
  return session.closedPromise().finally(() => sessions.delete(id));
}

async function attach(req: ApiRequest): Promise<void> {
  req.named.container = req.params.id;
  const row = req.engine.get(req.params.id);
  if (!flag(req.query, 'stream')) throw new ApiError(400, 'attach without stream=1 is not supported; use /logs');
  const tty = row.config.tty;
  if (tty || row.config.interactive) {
    let session: AttachSession;
    if (row.status === 'created' || row.status === 'exited') {
      const out = req.stream(!tty);
      session = await new Promise<AttachSession>((resolve) => waiting.set(row.id, resolve));
      await relaySession(session, out, tty, row.id);
      return out.end();
    }
    session = await req.engine.attach(row.id);
    const out = req.stream(!tty);
    await relaySession(session, out, tty, row.id);
    return out.end();
  }
  // no terminal and no stdin: the output as it is logged, until the container has run and stopped
  const since = Date.now();
  const wasActive = row.status !== 'created' && row.status !== 'exited' && row.status !== 'dead';
  const out = req.stream(!tty);
  const ac = new AbortController();
  void out.closed.then(() => ac.abort());
  const streams = (['stdout', 'stderr'] as const).filter((s) => flag(req.query, s));
  // the log is made now when no run has made it yet (the supervisor appends to it, never replaces it): the
  // reader below then holds its inode from the start, so a --rm container that runs, ends and is removed
  // between two looks still gives every line it wrote
  try {
    closeSync(openSync(req.engine.paths(row.id).log, 'a', 0o640));
  } catch {
    /* its directory is going (removed meanwhile): the stream ends at once below */
  }
  const done = () => {
    let r;
    try {
      r = req.engine.get(row.id);
    } catch {
      return true; // removed (--rm): the reader drains what it holds, then ends
    }
    return (wasActive || (r.state.startedAt ?? 0) >= since) && !['created', 'starting', 'running', 'restarting', 'stopping'].includes(r.status);
  };
  try {
    for await (const rec of req.engine.logs(row.id, { follow: true, since, streams, signal: ac.signal, done })) {
      const line = rec.full ? Buffer.concat([rec.data, Buffer.from('\n')]) : rec.data;
      out.write(frame(rec.stream === 'stderr' ? 2 : 1, line));
    }
  } catch {
    /* removed while attached (--rm): the stream ends */
  }
  out.end();
}

export const attachRoutes: ApiRoute[] = [
  { method: 'POST', path: '/containers/:id/attach', handler: (req) => attach(req) },
  {
    method: 'POST',
    path: '/containers/:id/resize',
    handler: async (req, res) => {
      req.named.container = req.params.id;
      const row = req.engine.get(req.params.id);
      const session = sessions.get(row.id);
      if (session) await session.resize(Number(req.query.get('h')), Number(req.query.get('w')));
      res.writeHead(200).end();
    },
  },
];
