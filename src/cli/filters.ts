// docker's repeatable --filter k=v option, grouped by key as the prunes take it.
import { EngineError } from '../errors.js';

/** `--filter k=v` pairs grouped by key, as docker's prunes take them. */
export function collectFilter(value: string, prev: Record<string, string[]> = {}): Record<string, string[]> {
  const i = value.indexOf('=');
  if (i <= 0) throw new EngineError('INVALID_CONFIG', `Expected a filter such as until=24h or label=env=test, got \`${value}\``);
  const k = value.slice(0, i);
  return { ...prev, [k]: [...(prev[k] ?? []), value.slice(i + 1)] };
}
