// A started container in the foreground, as `run` and `start -a` hold it: its output until it exits,
// the usual signals forwarded to it, its exit code.
import { constants as osConstants } from 'node:os';
import { parseSignal } from '../config/parse.js';
import type { ContainerEngine } from '../engine/engine.js';
import type { AttachSession } from '../runtime/attach.js';
import { onClosedPipe, writeRecord } from './context.js';
import { stayAttached, type RelayOptions } from './terminal.js';

export interface FollowOptions {
  /** the attach session of a container with a terminal or open stdin */
  session?: AttachSession;
  term: RelayOptions;
  /** only the records of this run: its start time in ms */
  since?: number;
  /** after the reader went away and the container ended (run --rm removes it here) */
  afterClosedPipe?: () => Promise<void>;
}

/** Follow a started container until it exits: its exit code, or undefined after a detach. */
export async function followToExit(engine: ContainerEngine, ref: string, o: FollowOptions): Promise<number | undefined> {
  // proxy the usual signals to the container, as docker does (a raw terminal sends its keys instead)
  const forward = (sig: NodeJS.Signals) => void engine.kill(ref, parseSignal(sig)).catch(() => undefined);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, forward);
  if (o.session) return stayAttached(engine, ref, o.session, o.term);
  // the reader went away (`| head -1`): the container's command gets SIGPIPE, as a pipeline's writer would
  onClosedPipe(async () => {
    await engine.kill(ref, osConstants.signals.SIGPIPE).catch(() => undefined);
    await engine.wait(ref);
    await o.afterClosedPipe?.();
  });
  for await (const rec of engine.logs(ref, { follow: true, since: o.since })) await writeRecord(rec);
  return engine.wait(ref);
}
