// docker's container filters (`ps --filter`, GET /containers/json?filters=), exactly: every key docker
// has, each value checked, an unknown key or value refused with docker's words. A filter that is ignored
// or approximated is dangerous: `docker rm -f $(docker ps -aq --filter ancestor=old)` must not reach
// containers the filter did not mean, and compose finds its own containers only through these filters.
import { EngineError } from '../errors.js';
import { parseReference } from '../images/reference.js';
import { networkMode } from '../runtime/network.js';
import type { ContainerRow } from '../state/types.js';
import { hasLabel } from './prunefilter.js';
import { shownPorts } from './netinfo.js';
import { dockerStatusOf, isActive } from './status.js';

const KEYS = ['id', 'name', 'label', 'exited', 'status', 'ancestor', 'before', 'since', 'volume', 'network', 'publish', 'expose', 'health', 'isolation', 'is-task'];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const bad = (msg: string) => new EngineError('INVALID_CONFIG', msg);

/** "3001", "3001/udp" or a range "3000-3010/tcp" as a predicate over a port and protocol. */
function portTerm(term: string, key: string): (port: number, proto: string) => boolean {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(term);
  if (!m) throw bad(`Invalid filter '${key}=${term}': expected PORT[/PROTO] or START-END[/PROTO]`);
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  const proto = m[3] ?? 'tcp';
  return (port, p) => port >= lo && port <= hi && p === proto;
}

/** An image reference as the store names it (old → old:latest, docker.io/library/ prefixes dropped). */
function imageKey(ref: string): string {
  try {
    const r = parseReference(ref);
    return `${r.registry}/${r.repository}:${r.tag ?? 'latest'}`;
  } catch {
    return ref;
  }
}

/**
 * A predicate keeping the rows every filter key matches (the values of one key: any of them; label: all).
 * `find` resolves before/since to a container; `latest` of the rows decides whether the list must include
 * stopped ones (a status or exited filter asks for them, as docker's does).
 */
export function containerFilter(filters: Record<string, string[]>, find: (ref: string) => ContainerRow): (r: ContainerRow) => boolean {
  for (const k of Object.keys(filters)) if (!KEYS.includes(k)) throw bad(`Invalid filter '${k}'`);
  // no filter: every row, without working out each row's status and ports (2 ms of `ps -a` over 1000)
  if (!Object.values(filters).some((v) => v.length)) return () => true;
  const f = (k: string) => filters[k] ?? [];
  for (const s of f('status')) if (!STATUSES.includes(s)) throw bad(`Invalid filter 'status=${s}'`);
  for (const e of f('exited')) if (!/^-?\d+$/.test(e)) throw bad(`Invalid filter 'exited=${e}'`);
  for (const h of f('health')) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw bad(`Invalid filter 'health=${h}'`);
  for (const i of f('isolation')) if (!['minimal', 'standard', 'strict', 'default'].includes(i)) throw bad(`Invalid filter 'isolation=${i}': the levels are minimal, standard and strict`);
  for (const t of f('is-task')) if (t !== 'true' && t !== 'false') throw bad(`Invalid filter 'is-task=${t}'`);
  const names = f('name').map((n) => {
    try {
      return new RegExp(n);
    } catch {
      throw bad(`Invalid filter 'name=${n}': not a regular expression`);
    }
  });
  const before = f('before').map((b) => find(b).createdAt);
  const since = f('since').map((s) => find(s).createdAt);
  const publish = f('publish').map((p) => portTerm(p, 'publish'));
  const expose = f('expose').map((p) => portTerm(p, 'expose'));
  const ancestors = f('ancestor').map((a) => ({ key: imageKey(a), raw: a.replace(/^sha256:/, '') }));
  const any = <T>(terms: T[], test: (t: T) => boolean) => !terms.length || terms.some(test);
  return (r) => {
    const c = r.config;
    const status = dockerStatusOf(r);
    // docker matches the ports a container shows: none once it has stopped (its network is released)
    const shown = shownPorts(r);
    const exposed = isActive(r.status) ? [...(c.exposedPorts ?? []), ...shown.map((p) => `${p.containerPort}/${p.protocol}`)] : [];
    const health = r.state.health?.status ?? 'none';
    return (
      any(f('id'), (i) => r.id.startsWith(i)) &&
      any(names, (re) => re.test(`/${r.name}`) || re.test(r.name)) &&
      f('label').every((l) => hasLabel(c.labels, l)) &&
      any(f('status'), (s) => s === status) &&
      any(f('exited'), (e) => status === 'exited' && r.state.exitCode === Number(e)) &&
      any(ancestors, (a) => imageKey(c.image) === a.key || c.image === a.raw || (!!c.imageId && c.imageId.slice(7).startsWith(a.raw))) &&
      before.every((t) => r.createdAt < t) &&
      since.every((t) => r.createdAt > t) &&
      any(f('volume'), (v) => c.volumes.some((m) => m.source === v || m.target === v)) &&
      any(f('network'), (n) => c.networks.some((a) => a.name === n) || (c.networks.length === 0 && (n === networkMode(c) || (n === 'bridge' && networkMode(c) === 'private')))) &&
      any(publish, (p) => shown.some((m) => p(m.hostPort, m.protocol))) &&
      any(expose, (p) => exposed.some((e) => p(Number(e.split('/')[0]), e.split('/')[1] ?? 'tcp'))) &&
      any(f('health'), (h) => h === health) &&
      any(f('isolation'), (i) => i === 'default' || i === c.isolation) &&
      any(f('is-task'), (t) => t === 'false')
    );
  };
}

/** Whether the filters ask for stopped containers too (docker lists them for a status or exited filter). */
export function filtersWantAll(filters: Record<string, string[]>): boolean {
  return !!(filters.status?.length || filters.exited?.length);
}
