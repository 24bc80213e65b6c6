// Cron patterns for cron_restart, read by croner (5 or 6 fields, as PM2 takes them).
import { Cron } from 'croner';

/** True when pattern is a cron pattern croner accepts. */
export function cronValid(pattern: string): boolean {
  try {
    new Cron(pattern, { paused: true });
    return true;
  } catch {
    return false;
  }
}

