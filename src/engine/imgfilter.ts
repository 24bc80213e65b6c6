// docker's image filters (`images --filter`, GET /images/json?filters=), exactly: dangling, label, before,
// since, reference. An unknown key or value is refused with docker's words.
import picomatch from 'picomatch';
import { EngineError } from '../errors.js';
import type { ImageListing } from '../images/store.js';
import { hasLabel } from './prunefilter.js';

const KEYS = ['dangling', 'label', 'before', 'since', 'reference'];
const bad = (msg: string) => new EngineError('INVALID_CONFIG', msg);

/** A predicate keeping the listed images every filter key matches; find names the image before/since point at. */
export function imageFilter(filters: Record<string, string[]>, all: ImageListing[]): (i: ImageListing) => boolean {
  for (const k of Object.keys(filters)) if (!KEYS.includes(k)) throw bad(`Invalid filter '${k}'`);
  const f = (k: string) => filters[k] ?? [];
  for (const d of f('dangling')) if (!['true', 'false', '1', '0'].includes(d)) throw bad(`Invalid filter 'dangling=${d}'`);
  const created = (ref: string) => {
    const hit = all.find((i) => i.name === ref || i.name === `${ref}:latest` || (!!i.id && (i.id === ref || i.id.slice(7).startsWith(ref.replace(/^sha256:/, '')))));
    if (!hit) throw new EngineError('NO_SUCH_IMAGE', `No such image: ${ref}`);
    return hit.createdAt ?? 0;
  };
  const before = f('before').map(created);
  const since = f('since').map(created);
  const refs = f('reference').map((r) => picomatch(r));
  return (i) =>
    f('dangling').every((d) => ['true', '1'].includes(d) === (i.repository === '<none>')) &&
    f('label').every((l) => hasLabel(i.labels ?? {}, l)) &&
    before.every((t) => (i.createdAt ?? 0) < t) &&
    since.every((t) => (i.createdAt ?? 0) > t) &&
    (!refs.length || refs.some((m) => m(`${i.repository}:${i.tag}`) || m(i.repository)));
}
