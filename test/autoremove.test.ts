// run -d --rm: with no daemon, the container's supervisor removes it (its exit command) once it has exited
// for good, whether its command ended or it was stopped; --rm with a restart policy is refused.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missing, sandbox, until } from './helpers.js';

const why = missing({ standard: true });

describe.skipIf(why)('run -d --rm', () => {
  const sb = sandbox('c32-autorm-');
  afterAll(() => sb.clean());
  const names = async () => (await sb.json<Array<{ Name: string }>>(['ps', '-a', '--json'])).map((c) => c.Name);
  const gone = async (name: string, id: string) => !(await names()).includes(name) && !existsSync(join(sb.storage, 'containers', id));

  it('removes the container when its command ends, with the remove event, and nothing left on disk', async () => {
    const r = await sb.cli(['run', '-d', '--rm', '--name', 'brief', 'host', 'sh', '-c', 'echo done; sleep 0.3']);
    expect(r.exitCode).toBe(0);
    const id = String(r.stdout).trim();
    const seen = await sb.inspect('brief');
    expect(seen?.State?.Status).toBe('running');
    expect(seen?.HostConfig?.AutoRemove).toBe(true);
    await until(() => gone('brief', id), 30_000);
    const events = String((await sb.cli(['events', '--json'])).stdout)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; name: string })
      .filter((e) => e.name === 'brief')
      .map((e) => e.type);
    expect(events).toEqual(['create', 'start', 'die', 'remove']);
  });

  it('removes a stopped one too, and an rm -f beside its own removal is no error', async () => {
    const r = await sb.cli(['run', '-d', '--rm', '--name', 'stopped', 'host', 'sleep', '300']);
    const id = String(r.stdout).trim();
    expect((await sb.cli(['stop', '-t', '0', 'stopped'])).exitCode).toBe(0);
    await until(() => gone('stopped', id), 30_000);
    const r2 = await sb.cli(['run', '-d', '--rm', '--name', 'raced', 'host', 'sleep', '300']);
    expect((await sb.cli(['rm', '-f', 'raced'])).exitCode).toBe(0);
    await until(() => gone('raced', String(r2.stdout).trim()), 30_000);
  });

  it('refuses --rm with a restart policy, creating nothing', async () => {
    const r = await sb.cli(['run', '-d', '--rm', '--restart', 'always', '--name', 'never', 'host', 'sleep', '1']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('Expected --rm without a restart policy');
    expect(await names()).not.toContain('never');
  });
});
