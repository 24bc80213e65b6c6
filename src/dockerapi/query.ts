// Query parameters as docker's clients send them: booleans in every spelling, and filters in both forms.
import { ApiError } from './errors.js';

/** docker's booleans: 1, true, True, yes; false for "", 0, no, false, none. */
export function flag(q: URLSearchParams, key: string, dflt = false): boolean {
  const v = q.get(key);
  if (v === null) return dflt;
  return !['', '0', 'no', 'false', 'none'].includes(v.toLowerCase());
}

/** Filters as the CLI (`{"name":{"x":true}}`) and docker-py (`{"name":["x"]}`) send them. */
export function listFilters(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let doc: Record<string, string[] | Record<string, boolean>>;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new ApiError(400, `invalid filters: ${raw}`);
  }
  return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, Array.isArray(v) ? v : Object.keys(v)]));
}
