// Layers as registries serve them: an empty one (a config-only commit: end blocks only, or no bytes) is a
// layer of nothing, unpacked to an empty directory; anything else that is not a tar is still refused.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unpackLayer } from './layers.js';
import { scanLayer } from './tarscan.js';

const dir = mkdtempSync(join(tmpdir(), 'c32-tarscan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('layer scan', () => {
  it('takes an empty layer, plain, gzipped or of no bytes, and unpacks it to an empty directory', async () => {
    const plain = join(dir, 'empty.tar');
    execFileSync('tar', ['-cf', plain, '-T', '/dev/null']);
    execFileSync('sh', ['-c', `gzip -c ${plain} > ${plain}.gz`]);
    writeFileSync(join(dir, 'none.tar'), '');
    for (const f of [plain, `${plain}.gz`, join(dir, 'none.tar')]) {
      const scan = await scanLayer(f, 'empty');
      expect(scan.entries, f).toBe(0);
      const storage = mkdtempSync(join(dir, 'store-'));
      const out = await unpackLayer(storage, f, 'empty');
      expect(readdirSync(out.dir)).toEqual([]);
    }
  });

  it('still refuses bytes that are not a tar', async () => {
    writeFileSync(join(dir, 'junk.tar'), Buffer.alloc(2048, 7));
    await expect(scanLayer(join(dir, 'junk.tar'), 'junk')).rejects.toMatchObject({ code: 'INVALID_IMAGE' });
  });
});
