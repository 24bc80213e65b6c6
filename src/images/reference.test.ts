import { describe, expect, it } from 'vitest';
import { displayRepo, formatReference, isLoopbackRegistry, parseReference } from './reference.js';

describe('image references', () => {
  it('normalises like docker', () => {
    expect(formatReference(parseReference('alpine'))).toBe('docker.io/library/alpine:latest');
    expect(formatReference(parseReference('team/bot:1.0'))).toBe('docker.io/team/bot:1.0');
    expect(formatReference(parseReference('127.0.0.1:5000/x/y'))).toBe('127.0.0.1:5000/x/y:latest');
    expect(formatReference(parseReference('localhost/app:1'))).toBe('localhost/app:1');
    expect(formatReference(parseReference('index.docker.io/library/busybox:1'))).toBe('docker.io/library/busybox:1');
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`ghcr.io/o/r@${d}`)).toEqual({ registry: 'ghcr.io', repository: 'o/r', tag: undefined, digest: d });
    expect(displayRepo('docker.io/library/alpine')).toBe('alpine');
    expect(displayRepo('127.0.0.1:5000/x')).toBe('127.0.0.1:5000/x');
  });
  it('refuses what docker refuses', () => {
    for (const bad of ['', 'Alpine', 'a b', 'x@sha256:12', 'x:tag/with', '-x', 'a//b']) expect(() => parseReference(bad), bad).toThrow(/Expected an image reference/);
  });
  it('knows loopback registries', () => {
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('localhost:5000')).toBe(true);
    expect(isLoopbackRegistry('[::1]:5000')).toBe(true);
    expect(isLoopbackRegistry('docker.io')).toBe(false);
    expect(isLoopbackRegistry('10.0.0.1:5000')).toBe(false);
  });
});
