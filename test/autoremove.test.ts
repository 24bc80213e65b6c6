// --rm: the engine removes a container once its supervisor has recorded the final exit, at whatever engine
// call comes next; the supervisor's exit command is such a call, so a run -d --rm container goes at once.
// A foreground run holds its container until it has the output and exit code; --rm with a restart policy
// is refused.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missing, pidsWith, sandbox, until } from './helpers.js';

const why = missing({ standard: true });

describe.skipIf(why)('--rm', () => {
  const sb = sandbox('c32-autorm-');
  const work = mkdtempSync(join(tmpdir(), 'c32-autorm-w-'));
  afterAll(async () => {
    await sb.clean();
    rmSync(work, { recursive: true, force: true });
  });
  const names = async () => (await sb.json<Array<{ Name: string }>>(['ps', '-a', '--json'])).map((c) => c.Name);
  const dirOf = (id: string) => join(sb.storage, 'containers', id);
  const gone = async (name: string, id: string) => !(await names()).includes(name) && !existsSync(dirOf(id));

  it('run -d --rm removes the container when its command ends, with no other call, and the remove event', async () => {
    // the command ends only when told: the inspect below never races its end, however loaded the host
    const r = await sb.cli(['run', '-d', '--rm', '--name', 'brief', '-v', `${work}:/w`, 'host', 'sh', '-c', 'echo done; while [ ! -e /w/go ]; do sleep 0.05; done']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const id = String(r.stdout).trim();
    const seen = await sb.inspect('brief');
    expect(seen?.State?.Status).toBe('running');
    expect(seen?.HostConfig?.AutoRemove).toBe(true);
    writeFileSync(join(work, 'go'), '');
    // its supervisor's exit command removes it: no call of ours until its directory is gone
    await until(() => !existsSync(dirOf(id)), 60_000);
    expect(await names()).not.toContain('brief');
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
    await until(() => gone('stopped', id), 60_000);
    const r2 = await sb.cli(['run', '-d', '--rm', '--name', 'raced', 'host', 'sleep', '300']);
    expect((await sb.cli(['rm', '-f', 'raced'])).exitCode).toBe(0);
    await until(() => gone('raced', String(r2.stdout).trim()), 60_000);
  });

  it('a container whose supervisor was killed is removed by the next engine call (ps -a)', async () => {
    const r = await sb.cli(['run', '-d', '--rm', '--name', 'orphan', 'host', 'sleep', '300']);
    const id = String(r.stdout).trim();
    const shims = pidsWith(dirOf(id)).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('codex32-shim'));
    expect(shims.length).toBeGreaterThan(0);
    for (const p of shims) process.kill(p, 'SIGKILL');
    await until(() => pidsWith(dirOf(id)).every((p) => !shims.includes(p)), 60_000);
    // no exit command ran: this listing is what finds the end and removes it before answering
    expect(await names()).not.toContain('orphan');
    expect(existsSync(dirOf(id))).toBe(false);
  });

  it('run --rm in the foreground has the output and exit code, and leaves nothing', async () => {
    const r = await sb.cli(['run', '--rm', '--name', 'fore', 'host', 'sh', '-c', 'echo hi; exit 3']);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('hi');
    expect(await names()).not.toContain('fore');
  });

  it('refuses --rm with a restart policy, creating nothing', async () => {
    const r = await sb.cli(['run', '-d', '--rm', '--restart', 'always', '--name', 'never', 'host', 'sleep', '1']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('Expected --rm without a restart policy');
    expect(await names()).not.toContain('never');
  });
});
