// Container logs: CRI-format records ("TIME STREAM F|P CONTENT") across rotated files, with tail, since and follow.
import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface LogRecord {
  time: string; // RFC 3339 with nanoseconds
  ms: number;
  stream: 'stdout' | 'stderr';
  /** true when the record ends a line (F); false for a piece of an over-long or unfinished line (P) */
  full: boolean;
  data: Buffer;
}

export interface LogOptions {
  tail?: number;
  since?: number; // ms
  until?: number; // ms
  follow?: boolean;
  streams?: Array<'stdout' | 'stderr'>;
  /** for follow: stop when this returns true and everything written so far has been read */
  done?: () => boolean;
  signal?: AbortSignal;
}

/** Parse one record; undefined when the line is not a record. */
export function parseRecord(line: Buffer): LogRecord | undefined {
  const s1 = line.indexOf(32);
  const s2 = line.indexOf(32, s1 + 1);
  if (s1 < 0 || s2 < 0 || line.length < s2 + 3) return undefined;
  const time = line.subarray(0, s1).toString('latin1');
  const stream = line.subarray(s1 + 1, s2).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line[s2 + 1];
  const ms = Date.parse(time.slice(0, 23) + 'Z');
  return { time, ms, stream, full: tag === 70 /* F */, data: line.subarray(s2 + 3) };
}

/** The log files of a container, oldest first: container.log.N … container.log.1, container.log. */
export function logFiles(path: string): string[] {
  const dir = dirname(path);
  const base = basename(path);
  let rotated: number[] = [];
  try {
    rotated = readdirSync(dir)
      .filter((f) => f.startsWith(base + '.') && /^\d+$/.test(f.slice(base.length + 1)))
      .map((f) => Number(f.slice(base.length + 1)));
  } catch {
    return [];
  }
  rotated.sort((a, b) => b - a);
  const files = rotated.map((n) => `${path}.${n}`);
  if (existsSync(path)) files.push(path);
  return files;
}

function readAll(path: string, from = 0): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = statSync(path).size;
    const buf = Buffer.allocUnsafe(Math.max(0, size - from));
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, from + off);
      if (n <= 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** Split a buffer into records; returns them and the number of bytes consumed (whole lines only). */
function splitRecords(buf: Buffer): { records: LogRecord[]; used: number } {
  const records: LogRecord[] = [];
  let start = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, start)) {
    const r = parseRecord(buf.subarray(start, i));
    if (r) records.push(r);
    start = i + 1;
  }
  return { records, used: start };
}

function keep(r: LogRecord, o: LogOptions): boolean {
  if (o.streams && !o.streams.includes(r.stream)) return false;
  if (o.since !== undefined && r.ms < o.since) return false;
  if (o.until !== undefined && r.ms > o.until) return false;
  return true;
}

/** The last n lines' records (a line may span several P records), reading only as much as needed. */
function tailRecords(records: LogRecord[], n: number): LogRecord[] {
  if (n <= 0) return [];
  let lines = 0;
  let i = records.length - 1;
  for (; i >= 0; i--) {
    if (records[i].full) {
      lines++;
      if (lines > n) break;
    }
  }
  return records.slice(i + 1);
}

/** Read a container's log records, optionally following new ones across rotation and restarts. */
export async function* readLogs(path: string, o: LogOptions = {}): AsyncGenerator<LogRecord> {
  const files = logFiles(path);
  let records: LogRecord[] = [];
  // for --tail read newest files first and stop once enough lines are found
  if (o.tail !== undefined && !o.follow) {
    for (let k = files.length - 1; k >= 0; k--) {
      const got = splitRecords(readAll(files[k])).records.filter((r) => keep(r, o));
      records = got.concat(records);
      if (records.filter((r) => r.full).length > o.tail) break;
    }
    yield* tailRecords(records, o.tail);
    return;
  }
  for (const f of files.slice(0, -1)) records.push(...splitRecords(readAll(f)).records.filter((r) => keep(r, o)));
  const current = files.at(-1) === path ? path : undefined;
  let offset = 0;
  let ino = -1;
  if (current) {
    const st = statSync(current);
    ino = st.ino;
    const buf = readAll(current);
    const { records: rs, used } = splitRecords(buf);
    offset = used;
    records.push(...rs.filter((r) => keep(r, o)));
  }
  yield* o.tail !== undefined ? tailRecords(records, o.tail) : records;
  if (!o.follow) return;
  let idle = 5;
  for (;;) {
    if (o.signal?.aborted) return;
    let st;
    try {
      st = statSync(path);
    } catch {
      st = undefined;
    }
    if (st && st.ino !== ino) {
      // rotated: finish the old file (now container.log.1), then start the new one from 0
      if (ino !== -1 && existsSync(`${path}.1`) && statSync(`${path}.1`).ino === ino) {
        const rest = splitRecords(readAll(`${path}.1`, offset)).records;
        for (const r of rest) if (keep(r, o)) yield r;
      }
      ino = st.ino;
      offset = 0;
    } else if (st && st.size < offset) offset = 0; // truncated in place (single-file cap)
    if (st && st.size > offset) {
      const { records: rs, used } = splitRecords(readAll(path, offset));
      offset += used;
      for (const r of rs) if (keep(r, o)) yield r;
      idle = 5;
      continue;
    }
    if (o.done?.()) {
      // one more look: the supervisor drains pipes before it records the end
      const { records: rs, used } = splitRecords(readAll(path, offset));
      offset += used;
      for (const r of rs) if (keep(r, o)) yield r;
      return;
    }
    await new Promise((r) => setTimeout(r, idle));
    idle = Math.min(idle * 2, 100);
  }
}
