// docker-py (Debian's python3-docker 5.0.3) against the Docker API: run (with remove and a failing
// command), exec_run, put_archive, get_archive, logs, stats, stop and remove.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateNetworkMissing } from '../src/engine/network.js';
import { dockerApi, type DockerApi } from './dockerapi-helpers.js';
import { missing } from './helpers.js';

// Debian's python3 with its python3-docker: another python3 first on the PATH has another docker-py
const PYTHON = '/usr/bin/python3';
const hasDockerPy = existsSync(PYTHON) && (await execa(PYTHON, ['-c', 'import docker'], { reject: false })).exitCode === 0;
const skip = missing({ standard: true }) ?? (process.env.CI === 'true' ? undefined : (privateNetworkMissing()[0] ?? (hasDockerPy ? undefined : 'python3-docker is not installed (scripts/test-setup.sh installs it)')));
let api: DockerApi;

beforeAll(async () => {
  if (!skip) api = await dockerApi('c32-dockerpy-');
}, 60_000);
afterAll(async () => {
  await api?.stop();
});

describe.skipIf(!!skip)('docker-py', () => {
  it('runs, execs, moves archives, reads logs and stats', async () => {
    const r = await execa(PYTHON, [join(import.meta.dirname, 'fixtures', 'dockerpy_flow.py'), api.socket], { reject: false, timeout: 120_000 });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const seen = JSON.parse(String(r.stdout));
    expect(seen).toMatchObject({
      ping: true,
      api: '1.43',
      run: 'from run\n',
      run_error: [4, 'failing\n'],
      exec: [7, 'out\n'],
      put: true,
      get: ['py.txt', 'put by docker-py\n'],
      logs: 'hello log\n',
      status: 'running',
      left: [],
      gone: true,
    });
    expect(seen.stats_pids).toBeGreaterThan(0);
  }, 120_000);
});
