// PM2's out_file / error_file: an extra copy of a bot's output, appended line by line with an optional
// timestamp in PM2's (day.js) format. The bot's own log stays the source of truth for `bot logs`.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogRecord } from '../monitor/logs.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Format a time with day.js tokens: YYYY YY MM M DD D HH H mm m ss s SSS Z ZZ; text in [brackets] is kept. */
export function formatDate(fmt: string, d: Date): string {
  const off = -d.getTimezoneOffset();
  const z = (sep: string) => `${off >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}${sep}${pad(Math.abs(off) % 60)}`;
  const tokens: Record<string, () => string> = {
    YYYY: () => String(d.getFullYear()), YY: () => pad(d.getFullYear() % 100), MM: () => pad(d.getMonth() + 1), M: () => String(d.getMonth() + 1),
    DD: () => pad(d.getDate()), D: () => String(d.getDate()), HH: () => pad(d.getHours()), H: () => String(d.getHours()),
    mm: () => pad(d.getMinutes()), m: () => String(d.getMinutes()), ss: () => pad(d.getSeconds()), s: () => String(d.getSeconds()),
    SSS: () => pad(d.getMilliseconds(), 3), ZZ: () => z(''), Z: () => z(':'),
  };
  return fmt.replace(/\[([^\]]*)\]|YYYY|YY|MM|M|DD|D|HH|H|mm|m|ss|s|SSS|ZZ|Z/g, (t, lit: string | undefined) => lit ?? tokens[t]());
}

/** Where each stream's copy goes, and the timestamp format. */
export interface CopyTarget {
  out?: string;
  err?: string;
  dateFormat?: string;
}

/** Append one record to its stream's copy (a partial record continues its line). */
export function copyRecord(rec: LogRecord, target: CopyTarget, lineStart: boolean): void {
  const file = rec.stream === 'stdout' ? target.out : target.err;
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  const stamp = lineStart && target.dateFormat ? formatDate(target.dateFormat, new Date(rec.ms)) + ': ' : '';
  appendFileSync(file, Buffer.concat([Buffer.from(stamp), rec.data, Buffer.from(rec.full ? '\n' : '')]));
}
