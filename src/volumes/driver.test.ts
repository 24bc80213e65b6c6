// The local driver's options: what each form mounts, and every other form refused by name.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerBind, dockerMount, parseDriverOpts, validateVolumeName } from './driver.js';

describe('the local driver', () => {
  it('reads no options as a directory, tmpfs with its size and mode, and a bind of a host directory', () => {
    expect(parseDriverOpts({})).toEqual({ kind: 'dir' });
    expect(parseDriverOpts({ type: 'tmpfs', device: 'tmpfs', o: 'size=64m,mode=700' })).toEqual({ kind: 'tmpfs', size: 64 * 1024 * 1024, mode: 0o700 });
    expect(parseDriverOpts({ type: 'tmpfs' })).toEqual({ kind: 'tmpfs' });
    const dir = mkdtempSync(join(tmpdir(), 'c32-driver-'));
    expect(parseDriverOpts({ type: 'none', o: 'bind', device: dir })).toEqual({ kind: 'bind', device: dir });
    rmSync(dir, { recursive: true });
    expect(() => parseDriverOpts({ type: 'none', o: 'bind', device: dir })).toThrow(/existing host directory/);
  });

  it('refuses other file systems, unknown keys and bad values', () => {
    expect(() => parseDriverOpts({ type: 'nfs', o: 'addr=1.2.3.4', device: ':/export' })).toThrow(/not `type=nfs/);
    expect(() => parseDriverOpts({ type: 'ext4', device: '/dev/sda1' })).toThrow(/not supported/);
    expect(() => parseDriverOpts({ size: '1m' })).toThrow(/no option `size`/);
    expect(() => parseDriverOpts({ type: 'tmpfs', o: 'size=lots' })).toThrow(/size/);
    expect(() => parseDriverOpts({ type: 'tmpfs', o: 'uid=5' })).toThrow(/size=SIZE and mode=OCTAL/);
    expect(() => parseDriverOpts({ type: 'none', o: 'bind', device: 'relative' })).toThrow(/absolute host path/);
    expect(() => parseDriverOpts({ type: 'none', o: 'bind,ro', device: '/' })).toThrow(/`o=bind` alone/);
  });

  it('validates names like container names, with room for anonymous volumes\' 64 hex digits', () => {
    expect(validateVolumeName('a'.repeat(64))).toHaveLength(64);
    for (const bad of ['', '../x', 'a/b', '-x', 'a'.repeat(65), 'x y']) expect(() => validateVolumeName(bad)).toThrow(/Expected the volume name/);
  });

  it('shows mounts in docker\'s shapes', () => {
    expect(dockerMount({ source: '/s/volumes/v/_data', target: '/d', readOnly: true, name: 'v' }, '/s')).toEqual({ Type: 'volume', Name: 'v', Source: '/s/volumes/v/_data', Destination: '/d', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' });
    expect(dockerMount({ source: '/h', target: '/d', readOnly: false })).toMatchObject({ Type: 'bind', Source: '/h', RW: true });
    expect(dockerBind({ source: '/x', target: '/d', readOnly: false, name: 'v' })).toBe('v:/d');
    expect(dockerBind({ source: '/x', target: '/d', readOnly: true, name: 'v', anonymous: true })).toBeUndefined();
  });
});
