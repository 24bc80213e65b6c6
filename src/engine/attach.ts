// Attaching to a container's terminal or stdin: at start (run -i/-t in the foreground) or later.
import { EngineError } from '../errors.js';
import { connectAttach, type AttachSession } from '../runtime/attach.js';
import type { ContainerRow } from '../state/types.js';
import type { EngineCore } from './core.js';
import { startContainer } from './lifecycle.js';
import { invalidState, isActive } from './status.js';

function requireAttachable(row: ContainerRow): void {
  if (!row.config.tty && !row.config.interactive)
    throw new EngineError('INVALID_CONFIG', `Container ${row.name} was created without -i or -t, so there is nothing to attach to. Use \`codex32 logs -f ${row.name}\` to follow its output.`, { context: { container: row.name } });
}

/** Attach to a running container created with -i or -t. */
export async function attachTo(core: EngineCore, ref: string): Promise<AttachSession> {
  const row = core.get(ref);
  requireAttachable(row);
  if (row.status !== 'running') throw invalidState(row.name, row.status, 'attach to', 'Start it first, e.g. `codex32 start ' + row.name + '`.');
  return connectAttach(core.paths(row.id).dir, row.name);
}

/** Start a container created with -i or -t with the caller attached before its command runs (already running: attach). */
export async function startAttached(core: EngineCore, ref: string): Promise<AttachSession> {
  const row = core.get(ref);
  requireAttachable(row);
  if (isActive(row.status)) return attachTo(core, ref);
  const session = await startContainer(core, ref, { attach: true });
  if (!session) throw new EngineError('RUNTIME_FAILED', `The supervisor of ${row.name} offered no attach socket.`, { context: { container: row.name } });
  return session;
}
