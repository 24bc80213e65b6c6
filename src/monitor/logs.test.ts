// Reading a log's records raw (readLogChunks) and parsed (readLogs) over real files: rotated files oldest
// first, whole lines only, the backlog's end marked, and follow with --tail even on an empty log.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLogChunks, readLogs, type LogChunk, type LogRecord } from './logs.js';

const dir = mkdtempSync(join(tmpdir(), 'c32-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rec = (i: number, stream = 'stdout') => `2026-12-07T06:00:00.${String(i).padStart(9, '0')}Z ${stream} F line ${i}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => rec(from + k, (from + k) % 4 ? 'stdout' : 'stderr')).join('');

async function collect<T>(it: AsyncGenerator<T>, stop?: (got: T[]) => boolean): Promise<T[]> {
  const got: T[] = [];
  for await (const x of it) {
    got.push(x);
    if (stop?.(got)) break;
  }
  return got;
}
const text = (rs: LogRecord[]) => rs.map((r) => r.data.toString()).join(',');

describe('readLogChunks', () => {
  it('gives the rotated files oldest first, then the current one, whole lines only, the last marked as the backlog end', async () => {
    const log = join(dir, 'a.log');
    writeFileSync(`${log}.2`, lines(0, 10));
    writeFileSync(`${log}.1`, lines(10, 20));
    writeFileSync(log, lines(20, 30) + '2026-12-07T06:00:00.1Z stdout F half a li'); // still being written
    const chunks = await collect(readLogChunks(log));
    expect(Buffer.concat(chunks.map((c) => c.bytes)).toString()).toBe(lines(0, 30));
    expect(chunks.map((c) => c.backlogEnd)).toEqual([false, false, true]);
    expect(text(await collect(readLogs(log)))).toBe(Array.from({ length: 30 }, (_, i) => `line ${i}`).join(','));
  });

  it('ends the backlog of a log that has no file yet, then follows what is written', async () => {
    const log = join(dir, 'b.log');
    let done = false;
    const it = readLogChunks(log, { follow: true, done: () => done });
    const first = (await it.next()).value as LogChunk;
    expect([first.bytes.length, first.backlogEnd]).toEqual([0, true]);
    writeFileSync(log, lines(0, 3));
    const next = (await it.next()).value as LogChunk;
    expect([next.bytes.toString(), next.backlogEnd]).toEqual([lines(0, 3), false]);
    done = true;
    expect((await it.next()).done).toBe(true);
  });
});

describe('readLogs with follow and tail', () => {
  it('gives the last lines at once, then what is appended, and follows an empty log too', async () => {
    const log = join(dir, 'c.log');
    writeFileSync(log, lines(0, 100));
    let done = false;
    const it = readLogs(log, { follow: true, tail: 3, done: () => done });
    const firstThree = [(await it.next()).value, (await it.next()).value, (await it.next()).value] as LogRecord[];
    expect(text(firstThree)).toBe('line 97,line 98,line 99'); // before anything new is written
    appendFileSync(log, lines(100, 102));
    expect(text([(await it.next()).value, (await it.next()).value] as LogRecord[])).toBe('line 100,line 101');
    done = true;
    expect((await it.next()).done).toBe(true);

    const empty = join(dir, 'd.log');
    writeFileSync(empty, '');
    const follow = readLogs(empty, { follow: true, tail: 5, streams: ['stderr'], done: () => false });
    setTimeout(() => appendFileSync(empty, lines(0, 8)), 50);
    const got = await collect(follow, (g) => g.length === 2);
    expect(text(got)).toBe('line 0,line 4'); // stderr only: every fourth
  });
});
