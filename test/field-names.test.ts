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
