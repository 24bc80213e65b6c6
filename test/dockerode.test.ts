// The app builder's flow through dockerode against the Docker API: a limited container with a
// published port, exec with a demultiplexed stream and its exit code, archives both ways, logs,
// stats, stop and remove.
import { PassThrough, Readable } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateNetworkMissing } from '../src/engine/network.js';
import { dockerApi, type DockerApi } from './dockerapi-helpers.js';
import { host, missing, until } from './helpers.js';

const skip = missing({ standard: true, cgroup: ['memory', 'pids', 'cpu'] }) ?? (process.env.CI === 'true' ? undefined : privateNetworkMissing()[0]);
let api: DockerApi;
let docker: Docker;

beforeAll(async () => {
  if (skip) return;
  api = await dockerApi('c32-dockerode-');
  docker = new Docker({ socketPath: api.socket });
}, 60_000);
afterAll(async () => {
  await api?.stop();
});

/** A one-file tar (ustar) of name with content, as an app builder's upload would be. */
function tarOf(name: string, content: string): Buffer {
  const data = Buffer.from(content);
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\x0000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
}

async function execOut(c: Docker.Container, cmd: string[]): Promise<{ out: string; err: string; code: number | null }> {
  const exec = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ Detach: false });
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (d: Buffer) => chunks.out.push(d));
  err.on('data', (d: Buffer) => chunks.err.push(d));
  docker.modem.demuxStream(stream, out, err);
  await new Promise((r) => stream.on('end', r));
  return { out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString(), code: (await exec.inspect()).ExitCode };
}

describe.skipIf(!!skip)('dockerode: the app builder flow', () => {
  it('creates a limited container, execs, moves files, reads logs and stats, stops and removes it', async () => {
    const c = await docker.createContainer({
      Image: 'host',
      name: 'app1',
      Cmd: ['sh', '-c', 'echo app started; exec busybox httpd -f -p 3001 -h /tmp'],
      ExposedPorts: { '3001/tcp': {} },
      HostConfig: {
        Memory: 512 * 1024 * 1024,
        MemorySwap: 512 * 1024 * 1024,
        CpuQuota: 50000,
        PidsLimit: 100,
        CapDrop: ['ALL'],
        CapAdd: ['CHOWN', 'SETUID', 'SETGID'],
        SecurityOpt: ['no-new-privileges'],
        PortBindings: { '3001/tcp': [{ HostPort: '0' }] },
      },
    });
    await c.start();
    const info = await c.inspect();
    expect(info.State.Running).toBe(true);
    expect([info.HostConfig.Memory, info.HostConfig.NanoCpus, info.HostConfig.PidsLimit]).toEqual([512 * 1024 * 1024, 5e8, 100]);
    const mem = host.cgroup.controllers.memory!;
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(`${mem}/codex32/${info.Id}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(512 * 1024 * 1024));

    const r = await execOut(c, ['sh', '-c', 'printf "a\\n\\n\\n"; echo oops >&2; exit 3']);
    expect(r).toEqual({ out: 'a\n\n\n', err: 'oops\n', code: 3 });

    await c.putArchive(Readable.from([tarOf('index.html', '<h1>v1</h1>\n')]), { path: '/tmp' });
    const port = info.NetworkSettings.Ports['3001/tcp']![0].HostPort;
    const page = await until(async () => (await fetch(`http://127.0.0.1:${port}/index.html`).catch(() => undefined))?.text(), 20_000);
    expect(page).toBe('<h1>v1</h1>\n');
    const archive = await c.getArchive({ path: '/tmp/index.html' });
    const chunks: Buffer[] = [];
    for await (const d of archive) chunks.push(d as Buffer);
    const tar = Buffer.concat(chunks);
    expect(tar.subarray(0, 10).toString()).toBe('index.html');
    expect(tar.subarray(512, 524).toString()).toBe('<h1>v1</h1>\n');
    const stat = await c.infoArchive({ path: '/tmp/index.html' });
    expect(stat).toBeTruthy();

    const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    expect(logs.subarray(8).toString()).toBe('app started\n'); // one stdcopy frame
    const stats = await c.stats({ stream: false });
    expect(stats.pids_stats?.current).toBeGreaterThan(0);
    expect(stats.memory_stats.limit).toBe(512 * 1024 * 1024);

    await c.stop({ t: 1 });
    expect((await c.inspect()).State.Running).toBe(false);
    await expect(c.stop()).rejects.toThrow(/304|already stopped/);
    await c.remove();
    await expect(c.inspect()).rejects.toThrow(/404|No such container/);
  }, 120_000);
});
