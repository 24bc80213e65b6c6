import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adoptIdRange, allocateIdRange, idRangeOf, ID_RANGE_SIZE, ID_RANGE_START } from './idranges.js';
import { StateStore } from './store.js';

const scratch = mkdtempSync(join(tmpdir(), 'c32-idranges-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const id = (c: string) => c.repeat(64);
const row = (c: string) => ({
  id: id(c), name: `n${c}`, status: 'created' as const, createdAt: Date.now(),
  config: { name: `n${c}` } as never, state: { restartCount: 0, runBase: 0, restartBase: 0 },
});

describe('strict uid ranges', () => {
  it('gives the lowest free range, the same one again to its holder, and frees it with the container', () => {
    const s = StateStore.open(join(scratch, 'a.db'));
    const take = (c: string) => s.tx(() => allocateIdRange(s, id(c), 3));
    for (const c of ['a', 'b']) s.tx(() => s.insertContainer(row(c)));
    expect(take('a')).toBe(ID_RANGE_START);
    expect(take('b')).toBe(ID_RANGE_START + ID_RANGE_SIZE);
    expect(take('a')).toBe(ID_RANGE_START); // held: not a second range
    s.tx(() => s.deleteContainer(id('a')));
    expect(idRangeOf(s, id('a'))).toBeUndefined();
    expect(take('c')).toBe(ID_RANGE_START); // the freed one first
    expect(take('d')).toBe(ID_RANGE_START + 2 * ID_RANGE_SIZE);
    expect(() => take('e')).toThrow(/All 3 host uid ranges .* CODEX32_STRICT_ID_RANGES/);
    s.close();
  });

  it('adopts a range found on disk only when it is a pool range nobody holds', () => {
    const s = StateStore.open(join(scratch, 'b.db'));
    expect(s.tx(() => adoptIdRange(s, id('a'), ID_RANGE_START + ID_RANGE_SIZE))).toBe(true);
    expect(s.tx(() => adoptIdRange(s, id('b'), ID_RANGE_START + ID_RANGE_SIZE))).toBe(false); // taken
    expect(s.tx(() => adoptIdRange(s, id('b'), ID_RANGE_START + 5))).toBe(false); // not a range start
    expect(s.tx(() => allocateIdRange(s, id('b')))).toBe(ID_RANGE_START);
    s.close();
  });
});
