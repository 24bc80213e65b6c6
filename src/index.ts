// Public API of codex32: the engine and the types a program embedding it needs.
import { ContainerEngine, type EngineOptions } from './engine/engine.js';

export { Container, ContainerEngine, type EngineOptions } from './engine/engine.js';
export type { ExecOptions, ExecProcess, ExecResult } from './engine/exec.js';
export type { WaitOptions, WaitResult } from './engine/lifecycle.js';
export type { FileRead, FileToWrite } from './engine/contents.js';
export type { ContainerConfig, IsolationType, ResourceLimits, Volume, RestartPolicy, HealthCheck } from './config/schema.js';
export type { ContainerImage } from './images/store.js';
export type { ContainerState, ContainerStatus, ContainerRow, RunRecord, EventRecord } from './state/types.js';
export type { InspectResult } from './engine/inspect.js';
export type { LogRecord, LogOptions } from './monitor/logs.js';
export { EngineError, type ErrorCode } from './errors.js';
export { systemCheck, systemRepair, type RepairReport, type StateReport } from './engine/system.js';
export { AdaptiveExecutor, type BotStatus } from './executor/adaptive.js';
export { useLauncher } from './runtime/launcher.js';
export type { Bot, BotInput, DeploymentType } from './executor/bot.js';

let engine: ContainerEngine | undefined;

/** Create the process-wide engine (replacing none: call shutdownEngine first to change settings). */
export function initEngine(options: EngineOptions = {}): ContainerEngine {
  engine ??= new ContainerEngine(options);
  return engine;
}

/** The process-wide engine, created with default settings on first use. */
export function getEngine(): ContainerEngine {
  return initEngine();
}

/** Close the process-wide engine's database; containers keep running. */
export function shutdownEngine(): void {
  engine?.close();
  engine = undefined;
}
