// Output helpers: aligned tables, human durations and docker-like status lines.

/** Render rows as a left-aligned table with a header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export { humanDuration, statusLine } from '../engine/statustext.js';
export { renderTemplate } from './template.js';

/** Shorten a command line for a table cell. */
export function ellipsis(s: string, n = 30): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** A time as Go's time.Time prints in docker's --format fields: 2026-12-07 17:33:00 +0000 UTC. */
export function goTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

/** Bytes as docker prints them: decimal units, four significant digits ("1.234MB", "0B"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let n = bytes;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}
