import { describe, expect, it } from 'vitest';
import { parseCpus, parseEnvFile, parseRestart, parseSeconds, parseSignal, parseSize, parseTime, parseVolume } from './parse.js';

describe('parsers', () => {
  it('sizes', () => {
    expect(parseSize('--memory', '64m')).toBe(64 * 1024 * 1024);
    expect(parseSize('--memory', '1g')).toBe(1024 ** 3);
    expect(parseSize('--memory', '512')).toBe(512);
    for (const bad of ['-1', '0', 'abc', '1x', '']) expect(() => parseSize('`--memory`', bad)).toThrow(/Expected `--memory` to be a size such as 64m/);
  });
  it('cpus', () => {
    expect(parseCpus('--cpus', '0.5')).toBe(0.5);
    for (const bad of ['NaN', '0', '-1', 'Infinity', '1e3x']) expect(() => parseCpus('--cpus', bad)).toThrow(/number of CPUs/);
  });
  it('restart policies', () => {
    expect(parseRestart('on-failure:3')).toEqual({ name: 'on-failure', maxRetries: 3 });
    expect(parseRestart('always')).toEqual({ name: 'always', maxRetries: 0 });
    expect(() => parseRestart('always:3')).toThrow();
    expect(() => parseRestart('sometimes')).toThrow();
  });
  it('durations and times', () => {
    expect(parseSeconds('-t', '1.5')).toBe(1.5);
    expect(parseSeconds('-t', '500ms')).toBe(0.5);
    expect(parseSeconds('-t', '2m')).toBe(120);
    expect(parseTime('--since', '10m', 1_000_000)).toBe(1_000_000 - 600_000);
    expect(parseTime('--since', '2026-01-02T03:04:05Z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(() => parseTime('--since', 'yesterday')).toThrow();
  });
  it('volumes, env files and signals', () => {
    expect(parseVolume('/a:/b:ro')).toEqual({ source: '/a', target: '/b', readOnly: true });
    expect(() => parseVolume('/a')).toThrow();
    expect(() => parseVolume('/a:/b:rx')).toThrow();
    expect(parseEnvFile('# c\nA=1\n\nexport B=two words\n')).toEqual([['A', '1'], ['B', 'two words']]);
    expect(parseSignal('SIGTERM')).toBe(15);
    expect(parseSignal('kill')).toBe(9);
    expect(() => parseSignal('NOPE')).toThrow();
  });
});
