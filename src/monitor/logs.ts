// Container logs: CRI-format records ("TIME STREAM F|P CONTENT") across rotated files, with tail, since and follow.
import { closeSync, existsSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
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
    return readFd(fd, from);
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

/**
 * The records of a log file's end, whole lines only: read backwards from its end, a block at a time (each
 * twice the last), until enough(records) holds or the file's start is reached. `logs --tail 100` of a
 * 10 MB log reads its last few kilobytes, not the whole file.
 */
function readFromEnd(path: string, enough: (records: LogRecord[]) => boolean): LogRecord[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    let pos = fstatSync(fd).size;
    let buf = Buffer.alloc(0);
    for (let block = 64 * 1024; ; block *= 2) {
      const n = Math.min(block, pos);
      const chunk = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, chunk, got, n - got, pos - n + got);
        if (r <= 0) break;
        got += r;
      }
      pos -= n;
      buf = Buffer.concat([chunk.subarray(0, got), buf]);
      // a line cut at the block's start is read whole with the next block
      const from = pos === 0 ? 0 : buf.indexOf(10) + 1;
      if (pos > 0 && from === 0) continue;
      const { records } = splitRecords(buf.subarray(from));
      if (pos === 0 || enough(records)) return records;
    }
  } finally {
    closeSync(fd);
  }
}

const fullLines = (rs: LogRecord[]) => rs.reduce((n, r) => n + (r.full ? 1 : 0), 0);

/** Read a container's log records, optionally following new ones across rotation and restarts. */
export async function* readLogs(path: string, o: LogOptions = {}): AsyncGenerator<LogRecord> {
  const files = logFiles(path);
  let records: LogRecord[] = [];
  // for --tail read newest files first and stop once enough lines are found
  if (o.tail !== undefined && !o.follow) {
    const tail = o.tail;
    for (let k = files.length - 1; k >= 0; k--) {
      const have = fullLines(records);
      const got = readFromEnd(files[k], (rs) => have + fullLines(rs.filter((r) => keep(r, o))) > tail).filter((r) => keep(r, o));
      records = got.concat(records);
      if (fullLines(records) > tail) break;
    }
    yield* tailRecords(records, o.tail);
    return;
  }
  let backlog: LogRecord[] | undefined = o.tail !== undefined ? [] : undefined;
  for await (const c of readLogChunks(path, o)) {
    const rs = splitRecords(c.bytes).records.filter((r) => keep(r, o));
    if (backlog) {
      backlog = backlog.concat(rs); // concat: spreading 100k records overflows the stack
      if (!c.backlogEnd) continue;
      yield* tailRecords(backlog, o.tail!);
      backlog = undefined;
    } else yield* rs;
  }
}

/** A piece of a log: whole CRI records ("TIME STREAM F|P CONTENT\n"), oldest first. */
export interface LogChunk {
  bytes: Buffer;
  /** true on the last piece of what the files held when reading began (what follow then adds comes after) */
  backlogEnd: boolean;
}

/** Only the whole lines of buf. */
const wholeLines = (buf: Buffer): Buffer => buf.subarray(0, buf.lastIndexOf(10) + 1);

/**
 * A container's log as raw records, a file's worth at a time, optionally following new ones across
 * rotation and restarts: what readLogs parses, for a reader that copies records out without a
 * per-record object (the Docker API's whole-log stream). Streams, since and until are the reader's.
 */
export async function* readLogChunks(path: string, o: Pick<LogOptions, 'follow' | 'done' | 'signal'> = {}): AsyncGenerator<LogChunk> {
  // follow keeps the file it reads open by descriptor: a rename does not move an inode, so a
  // rotation can never make us lose our place, however many happen between two looks
  const snap = o.follow ? snapshot(path) : logFiles(path).map((name) => ({ name, fd: -1, ino: 0 }));
  const last = snap.at(-1);
  let cur = last && last.name === path ? { fd: last.fd, ino: last.ino, offset: 0 } : undefined;
  if (cur) last!.fd = -1; // cur owns it now
  try {
    // the backlog is read whole before any of it is handed out, so a reader that stops early leaves no descriptor open
    const backlog: Buffer[] = [];
    for (const f of cur ? snap.slice(0, -1) : snap) {
      backlog.push(wholeLines(f.fd >= 0 ? readFd(f.fd) : readAll(f.name)));
      if (f.fd >= 0) closeSync(f.fd);
      f.fd = -1;
    }
    if (cur) {
      const buf = wholeLines(cur.fd >= 0 ? readFd(cur.fd) : readAll(path));
      cur.offset = buf.length;
      backlog.push(buf);
    }
    if (!backlog.length) backlog.push(Buffer.alloc(0)); // an empty log still ends its backlog
    for (let i = 0; i < backlog.length; i++) yield { bytes: backlog[i], backlogEnd: i === backlog.length - 1 };
    if (!o.follow) return;
    let idle = 5;
    for (;;) {
      if (o.signal?.aborted) return;
      const st = statSync(path, { throwIfNoEntry: false });
      if (cur && st && st.ino === cur.ino && st.size < cur.offset) cur.offset = 0; // truncated in place (single-file cap)
      if (cur) {
        const got = wholeLines(readFd(cur.fd, cur.offset));
        cur.offset += got.length;
        if (got.length) {
          idle = 5;
          yield { bytes: got, backlogEnd: false };
          continue;
        }
      }
      if (st && st.ino !== cur?.ino) {
        // rotated (or created): everything after our file, oldest first, then the new current one
        const now = snapshot(path);
        const at = cur ? now.findIndex((f) => f.ino === cur!.ino) : -1;
        const between = now.slice(at + 1, -1).map((f) => wholeLines(readFd(f.fd)));
        for (const f of now.slice(0, -1)) closeSync(f.fd);
        if (cur) closeSync(cur.fd); // drained above: the loop only rotates once our file has no more to give
        const head = now.at(-1);
        cur = head && head.name === path ? { fd: head.fd, ino: head.ino, offset: 0 } : undefined;
        if (head && !cur) closeSync(head.fd);
        for (const bytes of between) yield { bytes, backlogEnd: false };
        continue;
      }
      if (o.done?.()) {
        // one more look: the supervisor drains pipes before it records the end
        if (cur) {
          const got = wholeLines(readFd(cur.fd, cur.offset));
          cur.offset += got.length;
          if (got.length) yield { bytes: got, backlogEnd: false };
        }
        return;
      }
      await new Promise((r) => setTimeout(r, idle));
      idle = Math.min(idle * 2, 100);
    }
  } finally {
    for (const f of snap) if (f.fd >= 0) closeSync(f.fd);
    if (cur && cur.fd >= 0) closeSync(cur.fd);
  }
}

/** Read an open file from offset to its current end. */
function readFd(fd: number, from = 0): Buffer {
  const size = fstatSync(fd).size;
  const buf = Buffer.allocUnsafe(Math.max(0, size - from));
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, from + off);
    if (n <= 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/**
 * The log files, oldest first, each opened: listed, opened, then listed again to be sure no rotation
 * renamed them meanwhile (retried until the two listings agree).
 */
function snapshot(path: string): Array<{ name: string; fd: number; ino: number }> {
  for (let attempt = 0; ; attempt++) {
    const names = logFiles(path);
    const opened: Array<{ name: string; fd: number; ino: number }> = [];
    let ok = true;
    for (const name of names) {
      try {
        const fd = openSync(name, 'r');
        opened.push({ name, fd, ino: fstatSync(fd).ino });
      } catch {
        ok = false;
        break;
      }
    }
    if (ok) {
      const again = logFiles(path);
      ok = again.length === names.length && again.every((n, i) => n === names[i] && statSync(n, { throwIfNoEntry: false })?.ino === opened[i].ino);
    }
    if (ok || attempt >= 50) return opened;
    for (const f of opened) closeSync(f.fd);
  }
}
