import { describe, expect, it } from 'vitest';
import { parseBot } from '../executor/bot.js';
import {
  parseCpus, parseDurationMs, parseEnvFile, parseMount, parsePositiveInt, parseRestart, parseSeconds, parseSignal, parseSize, parseTime, parseVolume,
} from './parse.js';
import { parseRate } from './parse-net.js';
import { schemas, MAX } from './schema.js';
import { loadSettings } from './settings.js';

const BAD_NUMBERS = ['-1', '0', '1e99', '1e3', '0x10', '1.5.3', 'NaN', 'Infinity', '+5', '', ' ', 'abc', '1x', '1_000', '١٢', '0b1'];

describe('sizes', () => {
  it('parses binary units exactly', () => {
    expect(parseSize('`--memory`', '64m')).toBe(64 * 1024 * 1024);
    expect(parseSize('`--memory`', '1g')).toBe(1024 ** 3);
    expect(parseSize('`--memory`', '1GiB')).toBe(1024 ** 3);
    expect(parseSize('`--memory`', '512')).toBe(512);
    expect(parseSize('`--memory`', '512b')).toBe(512);
    expect(parseSize('`--memory`', '1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('`--memory`', '0.1k')).toBe(102); // a fraction of a byte is dropped, never rounded up by a double
    expect(parseSize('`--memory`', '1024t')).toBe(2 ** 50);
    expect(parseSize('`--memory`', '1125899906842624')).toBe(MAX.bytes);
  });
  it('refuses what is not a size in the standard template', () => {
    for (const bad of BAD_NUMBERS) expect(() => parseSize('`--memory`', bad)).toThrow(`Expected \`--memory\` to be a size such as 64m, got \`${bad}\``);
    expect(() => parseSize('`--memory`', '0.0001k')).toThrow(/a size such as 64m, got/);
  });
  it('refuses past the maximum, naming it, without ever rounding', () => {
    for (const big of ['18446744073709551616', '1125899906842625', '1025t', '1024.0001t', '99999999999999999999999g'])
      expect(() => parseSize('`--memory`', big)).toThrow(`Expected \`--memory\` to be a size such as 64m of at most 1024t (1125899906842624 bytes), got \`${big}\``);
  });
});

describe('counts', () => {
  it('whole numbers between their bounds', () => {
    expect(parsePositiveInt('`--pids`', '20', MAX.pids)).toBe(20);
    expect(parsePositiveInt('`--pids`', '4194304', MAX.pids)).toBe(4194304);
    expect(parsePositiveInt('`--pids`', '007', MAX.pids)).toBe(7);
    for (const bad of [...BAD_NUMBERS, '4194305', '9007199254740993', '18446744073709551616'])
      expect(() => parsePositiveInt('`--pids`', bad, MAX.pids)).toThrow(`Expected \`--pids\` to be a whole number from 1 to 4194304, got \`${bad}\``);
  });
  it('cpus in thousandths, up to 1024', () => {
    expect(parseCpus('`--cpus`', '0.5')).toBe(0.5);
    expect(parseCpus('`--cpus`', '.25')).toBe(0.25);
    expect(parseCpus('`--cpus`', '2')).toBe(2);
    expect(parseCpus('`--cpus`', '0.0010')).toBe(0.001);
    expect(parseCpus('`--cpus`', '1024')).toBe(1024);
    for (const bad of [...BAD_NUMBERS, '0.0005', '1024.001', '1.', '18446744073709551616'])
      expect(() => parseCpus('`--cpus`', bad)).toThrow(`Expected \`--cpus\` to be a number of CPUs such as 0.5 or 2 (at most 1024, in steps of 0.001), got \`${bad}\``);
  });
  it('restart policies, with at most 1000000 retries', () => {
    expect(parseRestart('on-failure:3')).toEqual({ name: 'on-failure', maxRetries: 3 });
    expect(parseRestart('always')).toEqual({ name: 'always', maxRetries: 0 });
    for (const bad of ['always:3', 'sometimes', 'on-failure:-1', 'on-failure:1e3', 'on-failure:1000001', 'on-failure:18446744073709551616'])
      expect(() => parseRestart(bad)).toThrow(/Expected `--restart` to be one of no, on-failure\[:N\], always, unless-stopped \(N at most 1000000\)/);
  });
});

describe('durations and times', () => {
  it('are whole milliseconds', () => {
    expect(parseDurationMs('-t', '1.5')).toBe(1500);
    expect(parseDurationMs('-t', '500ms')).toBe(500);
    expect(parseDurationMs('-t', '2m')).toBe(120_000);
    expect(parseDurationMs('-t', '0.1h')).toBe(360_000);
    expect(parseDurationMs('-t', '0')).toBe(0);
    expect(parseDurationMs('-t', '8760h')).toBe(MAX.durationMs);
    expect(parseSeconds('-t', '0.3')).toBe(0.3);
    expect(parseSeconds('-t', '1.0005')).toBe(1); // below a millisecond is dropped
  });
  it('refuses malformed, zero where a positive one is needed, and past 8760h', () => {
    for (const bad of BAD_NUMBERS.filter((b) => b !== '0'))
      expect(() => parseDurationMs('`--timeout`', bad)).toThrow(`Expected \`--timeout\` to be a duration such as 10, 30s or 5m, got \`${bad}\``);
    expect(() => parseDurationMs('`--timeout`', '0', 1)).toThrow('Expected `--timeout` to be a duration such as 10, 30s or 5m, longer than 0, got `0`');
    expect(() => parseDurationMs('`--timeout`', '0.0001', 1)).toThrow(/longer than 0/);
    for (const big of ['8761h', '31536000.001', '18446744073709551616'])
      expect(() => parseDurationMs('`--timeout`', big)).toThrow(`Expected \`--timeout\` to be a duration such as 10, 30s or 5m of at most 8760h, got \`${big}\``);
  });
  it('times: relative, RFC 3339 and exact unix timestamps', () => {
    expect(parseTime('--since', '10m', 1_000_000)).toBe(1_000_000 - 600_000);
    expect(parseTime('--since', '2026-01-02T03:04:05Z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseTime('--since', '1700000000.123')).toBe(1_700_000_000_123);
    expect(() => parseTime('--since', 'yesterday')).toThrow();
    expect(() => parseTime('--since', '99999999999999999999')).toThrow();
  });
});

describe('other forms', () => {
  it('volumes, env files and signals', () => {
    expect(parseVolume('/a:/b:ro')).toEqual({ source: '/a', target: '/b', readOnly: true });
    expect(parseVolume('/a')).toEqual({ source: '', target: '/a', readOnly: false }); // docker's anonymous volume
    expect(parseVolume('data:/d')).toEqual({ source: 'data', target: '/d', readOnly: false });
    expect(() => parseVolume('a')).toThrow();
    expect(() => parseVolume('/a:/b:rx')).toThrow();
    expect(parseEnvFile('# c\nA=1\n\nexport B=two words\n')).toEqual([['A', '1'], ['B', 'two words']]);
    expect(parseSignal('SIGTERM')).toBe(15);
    expect(parseSignal('kill')).toBe(9);
    expect(parseSignal('64')).toBe(64);
    expect(() => parseSignal('NOPE')).toThrow();
    expect(() => parseSignal('65')).toThrow();
  });
});

describe('library config and bot files hold the same maximums', () => {
  const cfg = (extra: Record<string, unknown>) => schemas().ContainerConfigSchema.safeParse({ image: 'host', ...extra });
  it('the library schema refuses numbers past their maximum', () => {
    expect(cfg({ limits: { memory: MAX.bytes, pids: MAX.pids, cpus: 0.5 } }).success).toBe(true);
    for (const limits of [{ memory: 18446744073709551616 }, { memory: 1e99 }, { memory: MAX.bytes + 1 }, { memory: -1 }, { memory: 1.5 },
      { pids: MAX.pids + 1 }, { nofile: MAX.nofile + 1 }, { cpuTime: 1e99 }, { fsize: Infinity }, { cpus: 0.0005 }, { cpus: 1025 }])
      expect(cfg({ limits }).success, JSON.stringify(limits)).toBe(false);
    for (const extra of [{ timeout: 0 }, { timeout: 1e99 }, { timeout: 0.0005 }, { stopTimeout: -1 }, { logMaxSize: 2 ** 64 },
      { user: { uid: 2 ** 32, gid: 0 } }, { restart: { name: 'on-failure', maxRetries: 1e99 } }, { health: { cmd: ['true'], intervalMs: 1e99 } }])
      expect(cfg(extra).success, JSON.stringify(extra)).toBe(false);
    expect(cfg({ timeout: 1.5, stopTimeout: 0.25 }).success).toBe(true);
  });
  it('a bot file takes sizes as exact strings or whole numbers within the maximum', () => {
    const bot = (limits: Record<string, unknown>) => () => parseBot({ name: 'b', script: 'x.py', deployment: { limits } });
    expect(bot({ memory: '1.5g' })().deployment.limits.memory).toBe(1.5 * 1024 ** 3);
    expect(bot({ memory: MAX.bytes })().deployment.limits.memory).toBe(MAX.bytes);
    expect(bot({ memory: '18446744073709551616' })).toThrow('deployment.limits.memory: Expected the value to be a size such as 64m of at most 1024t (1125899906842624 bytes), got `18446744073709551616`');
    expect(bot({ memory: 18446744073709551616 })).toThrow(/deployment.limits.memory/);
    expect(bot({ memory: '-1' })).toThrow(/deployment.limits.memory/);
    expect(bot({ pids: 4194305 })).toThrow(/deployment.limits.pids/);
  });
  it('the service port setting takes digits only', () => {
    expect(loadSettings({ CODEX32_PORT: '8080' }).port).toBe(8080);
    for (const bad of ['1e3', '0x10', '65536', '-1', '80.5']) expect(() => loadSettings({ CODEX32_PORT: bad })).toThrow(/Expected CODEX32_PORT/);
  });
});

describe('network rates', () => {
  it('are exact bytes per second up to 100g', () => {
    expect(parseRate('`--network-bandwidth`', '1m')).toBe(1024 * 1024);
    expect(parseRate('`--network-bandwidth`', '1.5k')).toBe(1536);
    expect(parseRate('`--network-bandwidth`', '8mbit')).toBe(1_000_000);
    expect(parseRate('`--network-bandwidth`', '1.1m')).toBe(1153433); // 1.1 × 1048576 = 1153433.6, the fraction dropped
    expect(parseRate('`--network-bandwidth`', '100g')).toBe(100 * 1024 ** 3);
    for (const bad of ['0', '-1', '1e3', '0x10', '1.5.3', '100.0001g', '18446744073709551616', '7bit'])
      expect(() => parseRate('`--network-bandwidth`', bad)).toThrow(/Expected `--network-bandwidth` to be a rate such as 1m/);
  });
});

describe('--mount', () => {
  it('reads docker\'s keys for volumes, binds and tmpfs', () => {
    expect(parseMount('type=volume,source=data,target=/d,readonly')).toEqual({ volume: { source: 'data', target: '/d', readOnly: true, type: 'volume' } });
    expect(parseMount('target=/anon,volume-nocopy')).toEqual({ volume: { source: '', target: '/anon', readOnly: false, type: 'volume', noCopy: true } });
    expect(parseMount('type=bind,src=/h,dst=/c,ro=false')).toEqual({ volume: { source: '/h', target: '/c', readOnly: false, type: 'bind' } });
    expect(parseMount('type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=700')).toEqual({ tmpfs: { path: '/t', size: 1024 * 1024, mode: 0o700 } });
  });

  it('refuses what codex32 cannot honour, naming it', () => {
    expect(() => parseMount('type=volume,source=a,target=rel')).toThrow(/absolute path/);
    expect(() => parseMount('type=nfs,target=/x')).toThrow(/volume, bind or tmpfs/);
    expect(() => parseMount('type=bind,source=rel,target=/x')).toThrow(/absolute host path/);
    expect(() => parseMount('type=volume,source=a/b,target=/x')).toThrow(/volume name/);
    expect(() => parseMount('type=volume,source=a,target=/x,volume-opt=o=size=1m')).toThrow(/no option `volume-opt`/);
    expect(() => parseMount('type=volume,source=a,target=/x,volume-driver=nfs')).toThrow(/local/);
    expect(() => parseMount('type=tmpfs,target=/t,tmpfs-mode=9')).toThrow(/octal/);
  });
});
