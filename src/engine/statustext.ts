// docker's human status texts ("Up 3 minutes", "Exited (0) 5 seconds ago"), shared by the CLI and the Docker API.
import type { ContainerRow } from '../state/types.js';

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
      return `Up ${humanDuration(now - (s.startedAt ?? now))}${s.paused ? ' (Paused)' : ''}`;
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
