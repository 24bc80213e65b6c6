// codex32's containers in docker's shapes: the /containers/json rows and the inspect document.
import type { InspectResult } from '../engine/inspect.js';
import { dockerStatusOf } from '../engine/status.js';
import { statusLine } from '../engine/statustext.js';
import { shownPorts } from '../engine/netinfo.js';
import type { ContainerRow } from '../state/types.js';
import { dockerBind, dockerMount } from '../volumes/driver.js';

/** docker's State.Status for codex32's statuses (docker has no starting or stopping). */
/** docker's State.Status for a container (a paused one is paused; docker has no starting or stopping). */
export const dockerStatus = dockerStatusOf;

const networks = (mode: string, ip = '', gateway = '') => ({ [mode === 'private' ? 'bridge' : mode]: { IPAddress: ip, Gateway: gateway, NetworkID: mode, IPPrefixLen: ip ? 16 : 0 } });
/** docker's NetworkSettings.Networks: the user networks by name, else the mode (private is docker's bridge). */
const networksOf = (c: ContainerRow['config']) =>
  c.networks.length ? Object.fromEntries(c.networks.map((a) => [a.name, { IPAddress: '', Gateway: '', NetworkID: a.name, IPPrefixLen: 0, Aliases: a.aliases }])) : networks(c.network ?? 'host');

/** An argument as docker ps shows it: quoted when it holds a space or a shell character. */
const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** One row of GET /containers/json. */
export function psEntry(row: ContainerRow, now = Date.now()): Record<string, unknown> {
  const c = row.config;
  const command = [...(c.entrypoint ?? []), ...c.command].map(quote).join(' ');
  return {
    Id: row.id,
    Names: [`/${row.name}`],
    Image: c.image,
    ImageID: c.imageId ?? '',
    Command: command,
    Created: Math.floor(row.createdAt / 1000),
    Ports: shownPorts(row).map((p) => ({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol })),
    Labels: c.labels,
    State: dockerStatus(row),
    Status: statusLine(row, now),
    HostConfig: { NetworkMode: c.networks[0]?.name ?? (c.network === 'private' || !c.network ? 'default' : c.network) },
    NetworkSettings: { Networks: networksOf(c) },
    Mounts: c.volumes.map((v) => dockerMount(v)),
  };
}

/** GET /containers/{id}/json: codex32's inspect, with the fields and forms docker's clients read. */
export function inspectEntry(i: InspectResult, row: ContainerRow): Record<string, unknown> {
  const c = row.config;
  return {
    ...i,
    Name: `/${i.Name}`,
    State: { ...i.State, Status: dockerStatus(row), OOMKilled: i.State.OOMKilled },
    Image: c.imageId ?? i.Image,
    ExecIDs: null,
    Driver: 'overlay',
    Platform: 'linux',
    Config: {
      ...i.Config,
      Image: i.Image,
      Domainname: '',
      AttachStdin: c.interactive,
      AttachStdout: true,
      AttachStderr: true,
      StdinOnce: false,
      StopSignal: String(i.Config.StopSignal),
      Volumes: c.volumes.some((v) => v.anonymous) ? Object.fromEntries(c.volumes.filter((v) => v.anonymous).map((v) => [v.target, {}])) : null,
      ExposedPorts: i.Config.ExposedPorts ?? Object.fromEntries((c.publish ?? []).map((p) => [`${p.containerPort}/${p.protocol}`, {}])),
    },
    HostConfig: {
      ...i.HostConfig,
      LogConfig: { Type: 'json-file', Config: { 'max-size': String(i.HostConfig.LogConfig.MaxSize), 'max-file': String(i.HostConfig.LogConfig.MaxFiles) } },
      NetworkMode: i.HostConfig.NetworkMode === 'private' ? 'default' : i.HostConfig.NetworkMode,
      Privileged: false,
      Binds: c.volumes.flatMap((v) => dockerBind(v) ?? []),
      VolumesFrom: c.volumesFrom?.length ? c.volumesFrom : null,
      Init: true,
    },
    NetworkSettings: {
      ...i.NetworkSettings,
      Networks: Object.keys(i.NetworkSettings.Networks).length ? i.NetworkSettings.Networks : networks(i.NetworkSettings.Mode, i.NetworkSettings.IPAddress, i.NetworkSettings.Gateway),
    },
  };
}
