// The Docker API's log stream: CRI records copied out as docker's stdcopy frames (raw bytes for a tty),
// a whole run of records into one buffer, so a 10 MiB log is a few large writes, not a write per line.
import type { ServerResponse } from 'node:http';
import type { LogRecord } from '../monitor/logs.js';

export interface FrameOptions {
  streams: Array<'stdout' | 'stderr'>;
  /** ms: records before since or after until are left out */
  since?: number;
  until?: number;
  timestamps: boolean;
  tty: boolean;
}

const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');

/** True when bytes[at..at+word.length) is word (compared in place: no slice per record). */
function wordAt(bytes: Buffer, at: number, word: Buffer): boolean {
  for (let i = 0; i < word.length; i++) if (bytes[at + i] !== word[i]) return false;
  return true;
}

/**
 * Docker's stream of a run of whole CRI records ("TIME STREAM F|P CONTENT\n"): per record, a frame with its
 * content (its time first when timestamps are asked for, a newline when the record ends a line), as the
 * per-record path (frameRecord) gives it. Lines that are not records are skipped, as readLogs skips them.
 */
export function framesOf(bytes: Buffer, o: FrameOptions): Buffer {
  // a frame's 8 bytes are fewer than the record's own " stdout F " and newline: the frames never outgrow the records
  const out = Buffer.allocUnsafe(bytes.length);
  let at = 0;
  const wantOut = o.streams.includes('stdout');
  const wantErr = o.streams.includes('stderr');
  const timed = o.since !== undefined || o.until !== undefined;
  for (let start = 0, nl = bytes.indexOf(10); nl >= 0; start = nl + 1, nl = bytes.indexOf(10, start)) {
    const s1 = bytes.indexOf(32, start);
    if (s1 < 0 || s1 >= nl) continue;
    const s2 = bytes.indexOf(32, s1 + 1);
    if (s2 < 0 || nl < s2 + 3 || s2 - s1 - 1 !== STDOUT.length) continue;
    const stream = wordAt(bytes, s1 + 1, STDOUT) ? 1 : wordAt(bytes, s1 + 1, STDERR) ? 2 : 0;
    if (stream === 0 || (stream === 1 && !wantOut) || (stream === 2 && !wantErr)) continue;
    if (timed) {
      const ms = Date.parse(bytes.toString('latin1', start, Math.min(s1, start + 23)) + 'Z');
      if ((o.since !== undefined && ms < o.since) || (o.until !== undefined && ms > o.until)) continue;
    }
    const full = bytes[s2 + 1] === 70; /* F */
    const stamp = o.timestamps ? s1 + 1 - start : 0; // the time and its space, as they stand in the record
    const size = stamp + (nl - s2 - 3) + (full ? 1 : 0);
    if (!o.tty) {
      out.writeUInt32BE(stream << 24, at); // [stream, 0, 0, 0]
      out.writeUInt32BE(size, at + 4);
      at += 8;
    }
    if (stamp) at += bytes.copy(out, at, start, s1 + 1);
    at += bytes.copy(out, at, s2 + 3, nl);
    if (full) out[at++] = 10;
  }
  return out.subarray(0, at);
}

/** One record in docker's stream (a frame, or its bytes alone for a tty). */
export function frameRecord(rec: LogRecord, o: Pick<FrameOptions, 'timestamps' | 'tty'>): Buffer {
  const line = Buffer.concat([o.timestamps ? Buffer.from(rec.time + ' ') : Buffer.alloc(0), rec.data, rec.full ? Buffer.from('\n') : Buffer.alloc(0)]);
  if (o.tty) return line;
  const head = Buffer.alloc(8);
  head[0] = rec.stream === 'stderr' ? 2 : 1;
  head.writeUInt32BE(line.length, 4);
  return Buffer.concat([head, line]);
}

/** Write b; resolves once the response can take more (or is gone), so a slow reader holds back the reading. */
export function writeOut(res: ServerResponse, b: Buffer): Promise<void> | undefined {
  if (!b.length || res.destroyed || res.write(b)) return undefined;
  return new Promise((resolve) => {
    const go = () => {
      res.off('drain', go);
      res.off('close', go);
      resolve();
    };
    res.on('drain', go);
    res.on('close', go);
  });
}
