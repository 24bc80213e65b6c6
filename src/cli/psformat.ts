// ps --format: the fields docker's ps template has (.ID, .Names, .Status, .Label "k", ...), `table`
// templates with docker's headers, and `json` (one object per line).
import { basename } from 'node:path';
import { portsText } from '../engine/netinfo.js';
import { shownStatus } from '../engine/status.js';
import type { ContainerRow } from '../state/types.js';
import { ellipsis, goTime, humanDuration, statusLine } from './format.js';
import { formatRows } from './template.js';

/** docker's column header for each ps field. */
const HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE',
  Status: 'STATUS', Names: 'NAMES', Labels: 'LABELS', Mounts: 'MOUNTS', Networks: 'NETWORKS', LocalVolumes: 'LOCAL VOLUMES', Isolation: 'ISOLATION',
};

/** The ps fields of one container, as docker's formatter gives them. */
export function psFields(r: ContainerRow, now: number, noTrunc: boolean): Record<string, string> {
  const command = r.config.command.length ? r.config.command.join(' ') : `(${basename(r.config.image)})`;
  const labels = r.config.labels ?? {};
  return {
    ID: noTrunc ? r.id : r.id.slice(0, 12),
    Image: r.config.image,
    Command: JSON.stringify(noTrunc ? command : ellipsis(command, 20)),
    CreatedAt: goTime(r.createdAt),
    RunningFor: `${humanDuration(now - r.createdAt)} ago`,
    Ports: portsText(r),
    State: shownStatus(r),
    Status: statusLine(r, now),
    Names: r.name,
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    Mounts: r.config.volumes.map((v) => v.name ?? v.source).join(','),
    Networks: r.config.networks.length ? r.config.networks.map((n) => n.name).join(',') : (r.config.network ?? ''),
    LocalVolumes: String(r.config.volumes.filter((v) => v.name).length),
    Isolation: r.config.isolation,
  };
}

/** ps's output for a --format: json, `table TEMPLATE` (with docker's headers) or a template a line each. */
export function renderPs(format: string, rows: ContainerRow[], noTrunc: boolean): string {
  const now = Date.now();
  const items = rows.map((r) => ({ ...psFields(r, now, noTrunc), Label: (k: unknown) => r.config.labels?.[String(k)] ?? '' }));
  return formatRows(format, items, { ...HEADERS, Label: () => 'LABEL' }, '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}', (i) => {
    const { Label: _label, ...fields } = i as Record<string, unknown>;
    return fields;
  });
}
