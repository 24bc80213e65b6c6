// docker's events: one event in docker's shape (GET /events, events --format) and docker's event filters
// (container, event, image, label, type, network, volume, daemon, scope), exactly, for both front ends.
import { EngineError } from '../errors.js';
import type { EventRecord } from '../state/types.js';

const bad = (msg: string) => new EngineError('INVALID_CONFIG', msg);

/** An event as docker sends it. */
export type EventDoc = ReturnType<typeof eventDoc>;

const ACTIONS: Record<string, string> = { remove: 'destroy' };

/** One event in docker's shape. */
export function eventDoc(e: EventRecord) {
  const action = ACTIONS[e.type] ?? e.type;
  const attrs = Object.fromEntries(Object.entries({ name: e.name ?? '', ...e.attrs }).map(([k, v]) => [k, String(v)]));
  if (e.type === 'die' && e.attrs.exitCode !== undefined) attrs.exitCode = String(e.attrs.exitCode);
  return {
    status: action,
    id: e.containerId ?? '',
    from: String(e.attrs.image ?? ''),
    Type: 'container',
    Action: action,
    Actor: { ID: e.containerId ?? '', Attributes: attrs },
    scope: 'local',
    time: Math.floor(e.time / 1000),
    timeNano: e.time * 1e6,
  };
}

/** docker's object types an event can be about (codex32's are all container events). */
const TYPES = ['container', 'image', 'volume', 'network', 'daemon', 'plugin', 'service', 'node', 'secret', 'config'];
const EVENT_KEYS = ['container', 'event', 'image', 'label', 'type', 'network', 'volume', 'daemon', 'scope'];
const SWARM_KEYS = ['config', 'node', 'plugin', 'secret', 'service'];

/** A predicate keeping the events (in docker's shape) every filter key matches; an unknown key or scope refused. */
export function eventFilter(f: Record<string, string[]>): (d: EventDoc) => boolean {
  for (const k of Object.keys(f)) {
    if (SWARM_KEYS.includes(k)) throw bad(`Invalid filter '${k}': codex32 has no swarm objects`);
    if (!EVENT_KEYS.includes(k)) throw bad(`Invalid filter '${k}'`);
  }
  for (const s of f.scope ?? []) if (s !== 'local' && s !== 'swarm') throw bad(`Invalid filter 'scope=${s}'`);
  for (const t of f.type ?? []) if (!TYPES.includes(t)) throw bad(`Invalid filter 'type=${t}': a type is what the event is about (${TYPES.join(', ')}); an action such as die is event=${t}`);
  const attr = (d: EventDoc, k: string) => (d.Actor.Attributes as Record<string, unknown>)[k];
  return (d) =>
    (!f.image || f.image.some((i) => attr(d, 'image') === i)) &&
    (!f.label || f.label.every((l) => (l.includes('=') ? attr(d, l.slice(0, l.indexOf('='))) === l.slice(l.indexOf('=') + 1) : attr(d, l) !== undefined))) &&
    (!f.network || f.network.some((n) => attr(d, 'network') === n)) &&
    (!f.volume || f.volume.some((v) => attr(d, 'volume') === v)) &&
    (!f.daemon || false) &&
    (!f.scope || f.scope.includes('local')) &&
    (!f.type || f.type.includes(d.Type)) &&
    (!f.event || f.event.includes(d.Action)) &&
    (!f.container || f.container.some((c) => d.id.startsWith(c) || d.Actor.Attributes.name === c));
}

