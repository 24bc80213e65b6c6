// A refusal names what the caller set, in the caller's language: the library its config field (`capAdd`),
// the CLI its flag (`--cap-add`), the Docker API the request's field (`HostConfig.CapAdd`).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerEngine, EngineError } from '../src/index.js';
import { dockerApi, type DockerApi } from './dockerapi-helpers.js';
import { missing, sandbox } from './helpers.js';

const skip = missing({ standard: true });
const sb = sandbox('c32-fields-');
const engine = new ContainerEngine({ storageDir: sb.storage, isolation: 'standard' });
let api: DockerApi | undefined;
beforeAll(async () => {
  if (!skip) api = await dockerApi('c32-fields-api-');
});
afterAll(async () => {
  engine.close();
  await sb.clean();
  await api?.stop();
});

/** The library's refusal of a create, as the EngineError it throws. */
async function libraryRefusal(config: Parameters<ContainerEngine['create']>[0]): Promise<EngineError> {
  const e = await engine.create(config).then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(EngineError);
  return e as EngineError;
}

/** POST /containers/create on the service; its status and message. */
function apiCreate(body: unknown): Promise<{ status: number; message: string }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: api!.socket, method: 'POST', path: '/v1.43/containers/create', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } }, (res) => {
      let out = '';
      res.on('data', (c: Buffer) => (out += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: (JSON.parse(out) as { message: string }).message }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

describe.skipIf(!!skip)(`field names in refusals${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('a capability the level refuses: capAdd, --cap-add, HostConfig.CapAdd', async () => {
    const lib = await libraryRefusal({ image: 'host', command: ['true'], capAdd: ['SYS_ADMIN'] });
    expect(lib.code).toBe('INVALID_CONFIG');
    expect(lib.message).toMatch(/^Expected `capAdd` to be one of .*got `SYS_ADMIN`/);
    expect(lib.message).not.toContain('--cap-add');
    const cli = await sb.cli(['create', '--cap-add', 'SYS_ADMIN', 'host', 'true']);
    expect(cli.exitCode).toBe(125);
    expect(cli.stderr).toMatch(/Expected `--cap-add` to be one of .*got `SYS_ADMIN` \[INVALID_CONFIG\]/);
    const viaApi = await apiCreate({ Image: 'host', Cmd: ['true'], HostConfig: { CapAdd: ['SYS_ADMIN'] } });
    expect(viaApi.status).toBe(400);
    expect(viaApi.message).toMatch(/^Expected `HostConfig.CapAdd` to be one of .*got `SYS_ADMIN`/);
  });

  it('security fields minimal cannot apply: readOnly and isolation, --read-only and --isolation, ReadonlyRootfs and the isolation label', async () => {
    const lib = await libraryRefusal({ image: 'host', command: ['true'], isolation: 'minimal', readOnly: true });
    expect(lib.message).toMatch(/^Expected `readOnly` with `isolation` standard or strict: /);
    expect(lib.context.fields).toEqual(['readOnly', 'isolation']);
    const cli = await sb.cli(['create', '--isolation', 'minimal', '--read-only', 'host', 'true']);
    expect(cli.exitCode).toBe(125);
    expect(cli.stderr).toMatch(/Expected `--read-only` with `--isolation` standard or strict: .*\[INVALID_CONFIG\]/);
    const viaApi = await apiCreate({ Image: 'host', Cmd: ['true'], Labels: { 'codex32.isolation': 'minimal' }, HostConfig: { ReadonlyRootfs: true } });
    expect(viaApi.status).toBe(400);
    expect(viaApi.message).toMatch(/^Expected `HostConfig.ReadonlyRootfs` with `Labels\["codex32.isolation"\]` standard or strict: /);
  });

  it('no-new-privileges switched off at standard: noNewPrivileges, --security-opt no-new-privileges, HostConfig.SecurityOpt', async () => {
    const lib = await libraryRefusal({ image: 'host', command: ['true'], noNewPrivileges: false });
    expect(lib.message).toMatch(/^Expected `noNewPrivileges` to be true at standard isolation/);
    const cli = await sb.cli(['create', '--security-opt', 'no-new-privileges=false', 'host', 'true']);
    expect(cli.stderr).toMatch(/Expected `--security-opt no-new-privileges` to be true at standard isolation .*Use `--isolation` minimal/);
    const viaApi = await apiCreate({ Image: 'host', Cmd: ['true'], HostConfig: { SecurityOpt: ['no-new-privileges=false'] } });
    expect(viaApi.status).toBe(400);
    expect(viaApi.message).toMatch(/^Expected `HostConfig.SecurityOpt` to be true at standard isolation/);
  });

  it('a memory limit below 4m: limits.memory, --memory, HostConfig.Memory', async () => {
    const lib = await libraryRefusal({ image: 'host', command: ['true'], limits: { memory: 1024 * 1024 } });
    expect(lib.message).toBe('Expected `limits.memory` to be at least 4m, got `1048576` bytes');
    const cli = await sb.cli(['create', '--memory', '1m', 'host', 'true']);
    expect(cli.stderr).toMatch(/Expected `--memory` to be at least 4m, got `1048576` bytes \[INVALID_CONFIG\]/);
    const viaApi = await apiCreate({ Image: 'host', Cmd: ['true'], HostConfig: { Memory: 1024 * 1024 } });
    expect(viaApi.status).toBe(400);
    expect(viaApi.message).toBe('Expected `HostConfig.Memory` to be at least 4m, got `1048576` bytes');
  });

  it('a user network\'s subnet: subnet, --subnet, IPAM.Config.Subnet', async () => {
    const lib = (() => {
      try {
        engine.network.create({ name: 'fields-net', subnet: 'bogus' });
      } catch (e) {
        return e as EngineError;
      }
      throw new Error('a bad subnet was accepted');
    })();
    expect(lib.message).toMatch(/^Expected `subnet` to be an IPv4 subnet/);
    const cli = await sb.cli(['network', 'create', '--subnet', 'bogus', 'fields-net']);
    expect(cli.stderr).toMatch(/Expected `--subnet` to be an IPv4 subnet .*\[INVALID_CONFIG\]/);
  });

  it('a published port on the host network: publish and network, -p and --network, PortBindings and NetworkMode', async () => {
    const lib = await libraryRefusal({ image: 'host', command: ['true'], network: 'host', publish: [{ hostIp: '0.0.0.0', hostPort: 0, containerPort: 80, protocol: 'tcp' }] });
    expect(lib.message).toBe("Expected `publish` with `network` private (this container's network is host)");
    expect(lib.context.fields).toEqual(['publish', 'network']);
    const cli = await sb.cli(['create', '--network', 'host', '-p', '80', 'host', 'true']);
    expect(cli.stderr).toContain("Expected `-p` with `--network` private (this container's network is host) [INVALID_CONFIG]");
    const viaApi = await apiCreate({ Image: 'host', Cmd: ['true'], ExposedPorts: { '80/tcp': {} }, HostConfig: { NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostPort: '' }] } } });
    expect(viaApi).toEqual({ status: 400, message: "Expected `HostConfig.PortBindings` with `HostConfig.NetworkMode` private (this container's network is host)" });
  });

  it('a config the schema refuses names its path in the library, and lists it for the front ends', async () => {
    const lib = await libraryRefusal({ image: 'host', command: ['true'], limits: { memory: -5 } });
    expect(lib.message).toMatch(/^Expected `limits.memory` to be valid: /);
    expect(lib.context.fields).toEqual(['limits.memory']);
  });

  it('cp of a missing path says NO_SUCH_PATH with the path', async () => {
    expect((await sb.cli(['run', '-d', '--name', 'files', 'host', 'sleep', '300'])).exitCode).toBe(0);
    const r = await sb.cli(['cp', 'files:/app/nope', `${sb.storage}/out`]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('/app/nope');
    expect(r.stderr).toContain('[NO_SUCH_PATH]');
  });
});
