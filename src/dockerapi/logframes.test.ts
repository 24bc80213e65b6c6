// The whole-log stream copies records out in bulk: byte for byte what the per-record path gives.
import { describe, expect, it } from 'vitest';
import { parseRecord } from '../monitor/logs.js';
import { frameRecord, framesOf, type FrameOptions } from './logframes.js';

const T0 = Date.parse('2026-12-07T06:00:00.000Z');
const stamp = (i: number) => new Date(T0 + i * 1000).toISOString().replace('Z', '123456Z');

/** A log as the supervisor writes it: both streams, full and partial records, an empty line, and lines that are no records. */
function sampleLog(): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < 50; i++) {
    lines.push(`${stamp(i)} ${i % 3 ? 'stdout' : 'stderr'} ${i % 7 === 3 ? 'P' : 'F'} line ${i} ünïcode`);
    if (i === 10) lines.push(`${stamp(i)} stdout F `);
    if (i === 20) lines.push('not a record', `${stamp(i)} stdin F nope`, `${stamp(i)} stdoux F nope`, `${stamp(i)} stdout`);
  }
  return Buffer.from(lines.join('\n') + '\n');
}

/** The per-record path's answer: each record parsed, kept, then framed alone. */
function oneByOne(bytes: Buffer, o: FrameOptions): Buffer {
  const out: Buffer[] = [];
  for (const line of bytes.toString('latin1').split('\n').slice(0, -1)) {
    const r = parseRecord(Buffer.from(line, 'latin1'));
    if (!r || !o.streams.includes(r.stream)) continue;
    if ((o.since !== undefined && r.ms < o.since) || (o.until !== undefined && r.ms > o.until)) continue;
    out.push(frameRecord(r, o));
  }
  return Buffer.concat(out);
}

describe('framesOf', () => {
  const log = sampleLog();
  const cases: Array<[string, FrameOptions]> = [
    ['both streams', { streams: ['stdout', 'stderr'], timestamps: false, tty: false }],
    ['stdout only, with timestamps', { streams: ['stdout'], timestamps: true, tty: false }],
    ['stderr only', { streams: ['stderr'], timestamps: false, tty: false }],
    ['a terminal (no frames)', { streams: ['stdout', 'stderr'], timestamps: true, tty: true }],
    ['since and until', { streams: ['stdout', 'stderr'], since: T0 + 10_000, until: T0 + 30_000, timestamps: false, tty: false }],
  ];
  for (const [what, o] of cases)
    it(`gives what the per-record path gives: ${what}`, () => {
      const want = oneByOne(log, o);
      expect(want.length).toBeGreaterThan(0);
      expect(framesOf(log, o).equals(want)).toBe(true);
    });

  it('fits records of one byte per line (the frames are never longer than the records)', () => {
    const tiny = Buffer.from(Array.from({ length: 1000 }, (_, i) => `1 stdout F ${i % 10}`).join('\n') + '\n');
    const o: FrameOptions = { streams: ['stdout'], timestamps: true, tty: false };
    expect(framesOf(tiny, o).equals(oneByOne(tiny, o))).toBe(true);
  });

  it('gives nothing for no records', () => {
    expect(framesOf(Buffer.alloc(0), cases[0][1]).length).toBe(0);
  });
});
