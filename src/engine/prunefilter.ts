// docker's prune filters (until, label, label!, dangling) as one predicate over what a prune may remove.
import { parseTime } from '../config/parse.js';
import { EngineError } from '../errors.js';

/** The filters a prune takes, as docker's `--filter key=value` pairs grouped by key. */
export type PruneFilters = Record<string, string[]>;

/** What a filter looks at in a candidate. */
export interface PruneCandidate {
  createdAt: number;
  labels: Record<string, string>;
  /** images only: untagged */
  dangling?: boolean;
}

/** docker's label filter term, `k` (present) or `k=v`, against labels: every filter that takes label uses it. */
export function hasLabel(labels: Record<string, string>, want: string): boolean {
  const i = want.indexOf('=');
  return i < 0 ? want in labels : labels[want.slice(0, i)] === want.slice(i + 1);
}

/**
 * A predicate that is true for a candidate every filter allows to go: created before every `until`,
 * carrying every `label`, none of `label!`; `dangling` (images) narrows to untagged or tagged ones.
 * A key docker does not define for the prune is refused by name.
 */
export function pruneFilter(filters: PruneFilters = {}, allowed: string[] = ['until', 'label', 'label!']): (c: PruneCandidate) => boolean {
  for (const k of Object.keys(filters))
    if (!allowed.includes(k)) throw new EngineError('INVALID_CONFIG', `Invalid filter '${k}'. This prune takes ${allowed.map((a) => `\`${a}\``).join(', ')}.`);
  const now = Date.now();
  const until = (filters.until ?? []).map((v) => parseTime('`until`', v, now));
  const dangling = filters.dangling?.map((v) => {
    if (!['true', 'false', '1', '0'].includes(v.toLowerCase())) throw new EngineError('INVALID_CONFIG', `Invalid filter 'dangling=${v}'. Expected true or false.`);
    return v === 'true' || v === '1';
  });
  return (c) =>
    until.every((t) => c.createdAt < t) &&
    (filters.label ?? []).every((l) => hasLabel(c.labels, l)) &&
    !(filters['label!'] ?? []).some((l) => hasLabel(c.labels, l)) &&
    (dangling === undefined || dangling.some((d) => d === !!c.dangling));
}
