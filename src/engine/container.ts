// Container: a handle on one container for programs that embed the engine.
import type { LogOptions, LogRecord } from '../monitor/logs.js';
import type { ContainerEngine } from './engine.js';
import type { InspectResult } from './inspect.js';

/** A handle on one container; every method goes through the engine, so state stays true. */
export class Container {
  constructor(
    readonly engine: ContainerEngine,
    readonly id: string,
    readonly name: string,
  ) {}
  /** Start the container. */
  start(): Promise<void> {
    return this.engine.start(this.id);
  }
  /** Stop it: its stop signal, then SIGKILL after timeout seconds. */
  stop(timeout?: number): Promise<void> {
    return this.engine.stop(this.id, { timeout });
  }
  /** Send a signal. */
  kill(signal = 9): Promise<void> {
    return this.engine.kill(this.id, signal);
  }
  /** Stop then start. */
  restart(timeout?: number): Promise<void> {
    return this.engine.restart(this.id, { timeout });
  }
  /** Remove it (force stops it first). */
  remove(force = false): Promise<void> {
    return this.engine.remove(this.id, { force });
  }
  /** Wait for it to stop; resolves to its exit code. */
  wait(): Promise<number> {
    return this.engine.wait(this.id);
  }
  /** docker-shaped description. */
  inspect(): Promise<InspectResult> {
    return this.engine.inspect(this.id);
  }
  /** Its log records. */
  logs(options?: LogOptions): AsyncGenerator<LogRecord> {
    return this.engine.logs(this.id, options);
  }
}
