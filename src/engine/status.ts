// The container status machine: a closed set of statuses and the guards for each operation.
import { EngineError } from '../errors.js';
import { isAlive } from '../runtime/proc.js';
import type { ContainerRow, ContainerStatus } from '../state/types.js';

export type { ContainerStatus } from '../state/types.js';

/** Statuses in which a supervisor may be running. */
export const ACTIVE: readonly ContainerStatus[] = ['starting', 'running', 'restarting', 'stopping'];

/** True when a supervisor may be running for a container in status s. */
export const isActive = (s: ContainerStatus): boolean => ACTIVE.includes(s);
/** True when start may be called in status s. */
export const canStart = (s: ContainerStatus): boolean => s === 'created' || s === 'exited' || s === 'dead';
/** True when remove may proceed without force. */
export const canRemove = (s: ContainerStatus): boolean => !isActive(s);

/**
 * True when an auto-remove container is due for removal: it has ended for good (its supervisor recorded
 * the final exit, or is gone), or a removal of it was begun by a process that is gone.
 */
export const removalDue = (row: Pick<ContainerRow, 'status' | 'config' | 'state'>): boolean =>
  !!row.config.autoRemove &&
  !row.state.holdRemoval &&
  (row.status === 'exited' || row.status === 'dead' || (row.status === 'removing' && !isAlive(row.state.owner)));

/** True when the container is running but frozen by pause. */
export const isPaused = (row: Pick<ContainerRow, 'status' | 'state'>): boolean => row.status === 'running' && !!row.state.paused;

/** The status as shown (ps, inspect): a paused container is `paused`, otherwise its status. */
export const shownStatus = (row: Pick<ContainerRow, 'status' | 'state'>): ContainerStatus | 'paused' => (isPaused(row) ? 'paused' : row.status);

/** docker's State.Status for a container: a paused one is paused; docker has no starting or stopping. */
export function dockerStatusOf(row: Pick<ContainerRow, 'status' | 'state'>): string {
  const status = shownStatus(row);
  if (status === 'starting') return 'created';
  if (status === 'stopping') return 'running';
  return status;
}

/** Raise INVALID_STATE with a message that says what to do instead. */
export function invalidState(name: string, status: ContainerStatus, action: string, hint: string): EngineError {
  return new EngineError('INVALID_STATE', `Cannot ${action} container ${name}: it is ${status}. ${hint}`, { context: { container: name, status } });
}
