// The container status machine: a closed set of statuses and the guards for each operation.
import { EngineError } from '../errors.js';
import type { ContainerStatus } from '../state/types.js';

export type { ContainerStatus } from '../state/types.js';

/** Statuses in which a supervisor may be running. */
export const ACTIVE: readonly ContainerStatus[] = ['starting', 'running', 'restarting', 'stopping'];

/** True when a supervisor may be running for a container in status s. */
export const isActive = (s: ContainerStatus): boolean => ACTIVE.includes(s);
/** True when start may be called in status s. */
export const canStart = (s: ContainerStatus): boolean => s === 'created' || s === 'exited' || s === 'dead';
/** True when remove may proceed without force. */
export const canRemove = (s: ContainerStatus): boolean => !isActive(s);

/** Raise INVALID_STATE with a message that says what to do instead. */
export function invalidState(name: string, status: ContainerStatus, action: string, hint: string): EngineError {
  return new EngineError('INVALID_STATE', `Cannot ${action} container ${name}: it is ${status}. ${hint}`, { context: { container: name, status } });
}
