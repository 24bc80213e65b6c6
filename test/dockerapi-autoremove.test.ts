// HostConfig.AutoRemove is the engine's own auto-remove: a container created through the Docker API with
// it is removed once it has ended even when the service that started it is gone by then.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, dockerApi } from './dockerapi-helpers.js';
import { missing, until } from './helpers.js';

const skip = missing({ standard: true }) ?? (existsSync(DOCKER) || process.env.CI === 'true' ? undefined : `missing ${DOCKER} (scripts/test-setup.sh installs it)`);
let api: Awaited<ReturnType<typeof dockerApi>>;

beforeAll(async () => {
  if (!skip) api = await dockerApi('c32-dapi-rm-');
}, 60_000);
afterAll(async () => {
  await api?.stop();
});

describe.skipIf(!!skip)(`Docker API AutoRemove${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('a waiter gets the exit code; inspect shows AutoRemove; a restart keeps it', async () => {
    const r = await api.docker(['run', '--rm', '--network', 'none', 'host', 'sh', '-c', 'echo out; exit 6']);
    expect(r.exitCode).toBe(6);
    expect(r.stdout).toBe('out');
    const d = await api.docker(['run', '-d', '--rm', '--network', 'none', '--name', 'kept', 'host', 'sleep', '300']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect((await api.docker(['inspect', '--format', '{{.HostConfig.AutoRemove}}', 'kept'])).stdout).toBe('true');
    expect((await api.docker(['restart', '-t', '0', 'kept'])).exitCode).toBe(0);
    expect((await api.docker(['inspect', '--format', '{{.State.Status}}', 'kept'])).stdout).toBe('running');
    expect((await api.docker(['rm', '-f', 'kept'])).exitCode).toBe(0);
    const refused = await api.docker(['run', '-d', '--rm', '--restart', 'always', 'host', 'true']);
    expect(refused.exitCode).not.toBe(0);
  });

  it('is removed after the service has stopped, by the next engine call', async () => {
    const d = await api.docker(['run', '-d', '--rm', '--network', 'none', '--name', 'outlives', 'host', 'sleep', '2']);
    expect(d.exitCode, d.stderr).toBe(0);
    const id = d.stdout.trim();
    api.service.kill('SIGTERM');
    await api.service;
    const listed = async () => (await api.json<Array<{ Name: string }>>(['ps', '-a', '--json'])).map((c) => c.Name);
    await until(async () => !(await listed()).includes('outlives'), 60_000, 200);
    expect(existsSync(join(api.storage, 'containers', id))).toBe(false);
  });
});
