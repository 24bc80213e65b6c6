// A log the supervisor cannot open or write is never silently short: shim.err and an event record the
// failure, and `codex32 logs` says on stderr that the log is incomplete, and why.
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox } from './helpers.js';

const sb = sandbox('c32-logerr-');
afterAll(() => sb.clean());
const env = { ...sb.env, CODEX32_NATIVE: '0' };
const cli = (args: string[]) => sb.cli(args, { env });

/** Create a minimal container printing two lines, its log replaced by link before it starts; run it to its end. */
async function runWithLog(name: string, link: string): Promise<string> {
  const c = await cli(['create', '--isolation', 'minimal', '--name', name, 'host', 'sh', '-c', 'echo hello; echo two']);
  expect(c.exitCode).toBe(0);
  const id = String(c.stdout).trim();
  const dir = join(sb.storage, 'containers', id);
  rmSync(join(dir, 'container.log'), { force: true });
  symlinkSync(link, join(dir, 'container.log'));
  expect((await cli(['start', name])).exitCode).toBe(0);
  expect(String((await cli(['wait', name])).stdout)).toBe('0'); // the command itself is not failed by its log
  return dir;
}

describe('a log that cannot be written', () => {
  it('a full disk (/dev/full): shim.err, a log_error event, and `logs` says so on stderr', async () => {
    const dir = await runWithLog('full', '/dev/full');
    expect(readFileSync(join(dir, 'shim.err'), 'utf8')).toMatch(/cannot write .*container\.log: No space left on device/);
    const events = await cli(['events', '--since', '10m', '--until', '0s']);
    expect(String(events.stdout)).toMatch(/log_error .*name=full.*No space left on device/);
    const logs = await cli(['logs', 'full']);
    expect(logs.exitCode).toBe(0);
    expect(String(logs.stdout)).toBe('');
    expect(String(logs.stderr)).toMatch(/^codex32: the log of full is incomplete: \S+Z cannot write .*container\.log: No space left on device$/m);
  });

  it('a log that cannot be opened: said the same way', async () => {
    const dir = await runWithLog('unopenable', '/nonexistent-codex32-dir/container.log');
    expect(readFileSync(join(dir, 'shim.err'), 'utf8')).toMatch(/cannot open .*container\.log: No such file or directory/);
    const logs = await cli(['logs', 'unopenable']);
    expect(String(logs.stderr)).toMatch(/the log of unopenable is incomplete: .*cannot open .*No such file or directory/);
  });

  it('a log written normally: `logs` says nothing on stderr', async () => {
    expect((await cli(['run', '--isolation', 'minimal', '--name', 'fine', 'host', 'echo', 'ok'])).exitCode).toBe(0);
    const logs = await cli(['logs', 'fine']);
    expect(String(logs.stdout)).toBe('ok');
    expect(String(logs.stderr)).toBe('');
  });
});
