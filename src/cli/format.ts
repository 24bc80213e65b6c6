// Output helpers: aligned tables, human durations and docker-like status lines.
import type { ContainerRow } from '../state/types.js';

/** Render rows as a left-aligned table with a header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** "5 seconds", "3 minutes", "2 hours", "4 days". */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'}`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? '' : 's'}`;
  const d = Math.round(h / 24);
  return `${d} days`;
}

/** docker ps's STATUS column. */
export function statusLine(row: ContainerRow, now = Date.now()): string {
  const s = row.state;
  switch (row.status) {
    case 'running':
      return `Up ${humanDuration(now - (s.startedAt ?? now))}`;
    case 'restarting':
      return `Restarting (${s.exitCode ?? 0}) ${humanDuration(now - (s.finishedAt ?? now))} ago`;
    case 'exited':
      return `Exited (${s.exitCode ?? 0}) ${humanDuration(now - (s.finishedAt ?? now))} ago`;
    case 'dead':
      return `Dead (${s.reason ?? 'unknown'})`;
    default:
      return row.status[0].toUpperCase() + row.status.slice(1);
  }
}

/** Shorten a command line for a table cell. */
export function ellipsis(s: string, n = 30): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** A minimal Go-template renderer for inspect --format: {{.A.B}} and {{json .A}}. */
export function renderTemplate(tpl: string, data: unknown): string {
  return tpl.replace(/\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}/g, (_m, json: string | undefined, path: string) => {
    let v: unknown = data;
    for (const k of path.split('.').filter(Boolean)) v = (v as Record<string, unknown> | undefined)?.[k];
    if (json || (typeof v === 'object' && v !== null)) return JSON.stringify(v ?? null);
    return v === undefined ? '<no value>' : String(v);
  }).replace(/\\n/g, '\n');
}
