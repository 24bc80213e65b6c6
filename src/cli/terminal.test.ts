import { describe, expect, it } from 'vitest';
import { DetachKeys } from './terminal.js';

describe('detach keys', () => {
  it('detaches on Ctrl-P Ctrl-Q, even split across reads, and passes everything else through', () => {
    const k = new DetachKeys();
    expect(k.feed(Buffer.from('ls\r'))).toEqual({ forward: Buffer.from('ls\r'), detach: false });
    expect(k.feed(Buffer.from([0x61, 0x10]))).toEqual({ forward: Buffer.from([0x61]), detach: false });
    expect(k.feed(Buffer.from([0x11, 0x62]))).toEqual({ forward: Buffer.alloc(0), detach: true });
    const k2 = new DetachKeys();
    expect(k2.feed(Buffer.from([0x10, 0x61]))).toEqual({ forward: Buffer.from([0x10, 0x61]), detach: false });
    expect(k2.feed(Buffer.from([0x10, 0x10, 0x11]))).toEqual({ forward: Buffer.from([0x10]), detach: true });
  });
});
