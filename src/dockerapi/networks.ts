// /networks: list with docker's filters, inspect, create, delete, connect, disconnect, prune.
import { builtinDoc, filterNetworks, listed, networkDoc, type ListedNetwork } from '../engine/netfilter.js';
import { PREDEFINED } from '../engine/usernets.js';
import { ApiError } from './errors.js';
import { listFilters } from './query.js';
import type { ApiRequest, ApiRoute } from './server.js';
import { sendJson } from './system.js';

type Json = Record<string, any>;

const all = (req: ApiRequest) => listed(req.engine.network.list(), { bridge: 'bridge', host: 'host', none: 'none' });
const docOf = (n: ListedNetwork) => (n.view ? networkDoc(n.view) : builtinDoc(n));

/** A network by name, id or id prefix, the predefined ones included. */
function find(req: ApiRequest, ref: string): ListedNetwork {
  const nets = all(req);
  const hit = nets.find((n) => n.name === ref || n.id === ref) ?? (nets.filter((n) => n.id.startsWith(ref)).length === 1 ? nets.find((n) => n.id.startsWith(ref)) : undefined);
  if (!hit) throw new ApiError(404, `network ${ref} not found`);
  return hit;
}

/** Fields of a create body codex32 cannot honour, refused by name. */
function checkCreate(b: Json): void {
  if (b.EnableIPv6) throw new ApiError(400, 'EnableIPv6 is not supported by codex32: networks are IPv4');
  if (b.Ingress || b.ConfigOnly || b.ConfigFrom?.Network) throw new ApiError(400, 'Ingress, ConfigOnly and ConfigFrom are swarm features codex32 does not have');
  if (b.Scope && b.Scope !== 'local') throw new ApiError(400, `Scope ${b.Scope} is not supported by codex32: networks are local`);
  if (b.IPAM?.Driver && b.IPAM.Driver !== 'default') throw new ApiError(400, `IPAM.Driver ${b.IPAM.Driver} is not supported by codex32`);
  const cfgs = (b.IPAM?.Config ?? []) as Json[];
  if (cfgs.length > 1) throw new ApiError(400, 'IPAM.Config takes one subnet in codex32');
  for (const k of Object.keys(cfgs[0] ?? {})) if (!['Subnet', 'Gateway'].includes(k)) throw new ApiError(400, `IPAM.Config.${k} is not supported by codex32: give Subnet and Gateway`);
}

export const networkRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/networks',
    handler: async (req, res) => sendJson(res, filterNetworks(all(req), listFilters(req.query)).map(docOf)),
  },
  { method: 'GET', path: '/networks/:id', handler: async (req, res) => sendJson(res, docOf(find(req, req.params.id!))) },
  {
    method: 'POST',
    path: '/networks/create',
    handler: async (req, res) => {
      const b = await req.json<Json>();
      if (typeof b.Name !== 'string' || !b.Name) throw new ApiError(400, 'Name is required');
      checkCreate(b);
      if (PREDEFINED.includes(b.Name)) throw new ApiError(403, `operation is not permitted on predefined ${b.Name} network`);
      const ipam = (b.IPAM?.Config ?? [])[0] ?? {};
      const n = req.engine.network.create({
        name: b.Name,
        driver: b.Driver || undefined,
        subnet: ipam.Subnet,
        gateway: ipam.Gateway,
        internal: !!b.Internal,
        attachable: !!b.Attachable,
        labels: b.Labels ?? {},
        options: b.Options ?? {},
      });
      sendJson(res, { Id: n.id, Warning: '' }, 201);
    },
  },
  {
    method: 'DELETE',
    path: '/networks/:id',
    handler: async (req, res) => {
      const n = find(req, req.params.id!);
      if (n.builtin) throw new ApiError(403, `${n.name} is a pre-defined network and cannot be removed`);
      await req.engine.network.remove(n.id);
      res.writeHead(204).end();
    },
  },
  {
    method: 'POST',
    path: '/networks/:id/connect',
    handler: async (req, res) => {
      const b = await req.json<Json>();
      const n = find(req, req.params.id!);
      if (n.builtin) throw new ApiError(400, `container cannot be connected to the predefined ${n.name} network: its network is chosen at create`);
      const ep: Json = b.EndpointConfig ?? {};
      if (ep.IPAMConfig?.IPv4Address || ep.IPAMConfig?.IPv6Address) throw new ApiError(400, 'EndpointConfig.IPAMConfig is not supported by codex32: addresses are leased, not chosen');
      if (Array.isArray(ep.Links) && ep.Links.length) throw new ApiError(400, 'EndpointConfig.Links is not supported by codex32: give links as HostConfig.Links at create');
      req.named.container = b.Container;
      await req.engine.network.connect(n.id, String(b.Container), ep.Aliases ?? []);
      res.writeHead(200, { 'Content-Length': 0 }).end();
    },
  },
  {
    method: 'POST',
    path: '/networks/:id/disconnect',
    handler: async (req, res) => {
      const b = await req.json<Json>();
      const n = find(req, req.params.id!);
      if (n.builtin) throw new ApiError(400, `container cannot be disconnected from the predefined ${n.name} network`);
      req.named.container = b.Container;
      await req.engine.network.disconnect(n.id, String(b.Container));
      res.writeHead(200, { 'Content-Length': 0 }).end();
    },
  },
  {
    method: 'POST',
    path: '/networks/prune',
    handler: async (req, res) => {
      sendJson(res, { NetworksDeleted: await req.engine.network.prune(listFilters(req.query)) });
    },
  },
];
