// Plain record types shared by the store and the engine.
import type { ResolvedConfig } from '../config/schema.js';
import type { CgroupSet } from '../runtime/cgroups.js';

export type ContainerStatus = 'created' | 'starting' | 'running' | 'restarting' | 'stopping' | 'exited' | 'dead' | 'removing';

/** A process named uniquely: pid plus its start time in clock ticks since boot. */
export interface ProcRef {
  pid: number;
  start: string;
}

/** The mutable part of a container, stored as JSON beside its indexed columns. */
export interface ContainerState {
  shim?: ProcRef;
  init?: ProcRef;
  owner?: ProcRef; // the engine process in the middle of a start, so a killed CLI is noticed
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  signal?: number;
  oomKilled?: boolean;
  /** the cgroup's OOM kill count already recorded as events (any process of the container) */
  oomSeen?: number;
  reason?: string;
  restartCount: number;
  runBase: number; // runs recorded before the current supervisor
  restartBase: number; // restarts counted before the current supervisor
  health?: { status: 'starting' | 'healthy' | 'unhealthy'; failingStreak: number };
  error?: string;
  previous?: ContainerStatus; // status before 'starting', to return to if the start dies
  userStopped?: boolean;
  cgroups?: CgroupSet;
  bootId?: string;
  shimEvents?: number; // lines of the supervisor's events file already recorded
  mark?: string; // the supervisor's records when last reconciled while running: unchanged means nothing to do
  /** frozen by pause (the freezer cgroup): still running, its processes stopped until unpause */
  paused?: boolean;
  holdRemoval?: boolean; // an auto-remove container stopped by a restart: its start comes next, not its removal
}

export interface ContainerRow {
  id: string;
  name: string;
  status: ContainerStatus;
  createdAt: number;
  config: ResolvedConfig & { name: string; isolation: 'minimal' | 'standard' | 'strict' };
  state: ContainerState;
}

export interface RunRecord {
  run: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  signal: number;
  oom: boolean;
  reason: string;
}

export interface EventRecord {
  id: number;
  time: number;
  type: string;
  containerId?: string;
  name?: string;
  attrs: Record<string, unknown>;
}

export interface ImageRow {
  name: string;
  kind: 'builtin' | 'rootfs';
  createdAt: number;
  doc: { path?: string; size?: number; files?: number; source?: string };
}

/** A user network: the segment its containers share, and how docker clients see it. */
export interface NetworkRow {
  id: string;
  name: string;
  createdAt: number;
  /** the addresses its containers get (CIDR), when asked for at create; else the private network's pool */
  subnet?: string;
  gateway?: string;
  /** no way out: its containers reach only each other */
  internal: boolean;
  labels: Record<string, string>;
  /** docker's create options kept for inspect (Attachable, Options) */
  attachable: boolean;
  options: Record<string, string>;
}
