import { describe, expect, it } from 'vitest';
import { kernelHasIdmappedLayers, layerIdmap } from './idmap.js';

describe('strict layers: idmapped or shifted copies', () => {
  it('takes idmapped layers from Linux 6.15 on, where overlayfs accepts detached mounts', () => {
    for (const r of ['6.15.0', '6.18.44-fc-v1300', '7.0.1']) expect(kernelHasIdmappedLayers(r)).toBe(true);
    for (const r of ['6.14.11', '5.19.0', '5.10.0-28-amd64', 'weird']) expect(kernelHasIdmappedLayers(r)).toBe(false);
  });

  it('falls back to a shifted copy on an older kernel or when CODEX32_IDMAPPED_LAYERS=0, saying why', () => {
    expect(layerIdmap({}, '6.18.0')).toMatchObject({ mode: 'idmapped' });
    expect(layerIdmap({}, '6.1.0')).toEqual({ mode: 'shifted-copy', why: 'kernel 6.1.0 is older than 6.15, which idmapped overlay layers need' });
    expect(layerIdmap({ CODEX32_IDMAPPED_LAYERS: '0' }, '6.18.0')).toEqual({ mode: 'shifted-copy', why: 'CODEX32_IDMAPPED_LAYERS=0' });
  });
});
