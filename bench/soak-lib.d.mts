// Types of bench/soak-lib.mjs for the test that runs the two-minute soak.
import type { RunRecord } from '../src/state/types.js';

/** a run as inspect's Runs gives it */
export type SoakRun = RunRecord;
export interface SoakFinding {
  name: string;
  start?: number;
  run?: number;
  reason?: string;
  why: string;
  around?: SoakRun[];
  events?: string[];
}
export interface SoakReport {
  minutes: number;
  bots: number;
  clients: number;
  starts: number;
  runs: number;
  uncounted: Record<string, number>;
  lost: SoakFinding[];
  doubled: SoakFinding[];
  stuck: string[];
  kills: { supervisor: number; cli: number; service: number };
  commands: Record<string, { ok: number; failed: Record<string, number> }>;
  samples: Record<string, string>;
  crashes: Array<{ args: string[]; code: number | null; signal?: string | null; stderr: string }>;
  check: { healthy: boolean; advice: string[] };
  leftovers: string[];
  seconds: number;
  soakSeconds: number;
  storage: string;
  startsOf: Record<string, number[]>;
  runsOf: Record<string, SoakRun[]>;
}
/** Match one bot's counted starts against its recorded runs. */
export function matchRuns(name: string, starts: number[], runs: SoakRun[]): { lost: SoakFinding[]; doubled: SoakFinding[]; uncounted: Record<string, number> };
/** Run the soak; resolves to its report. */
export function runSoak(options?: { minutes?: number; bots?: number; clients?: number; log?: (m: string) => void }): Promise<SoakReport>;
