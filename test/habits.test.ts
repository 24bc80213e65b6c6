// docker's everyday habits, exactly, through the CLI and the Docker API: filters (every key honoured, an unknown key or
// value refused: `docker rm -f $(docker ps -aq --filter ancestor=old)` must
// not reach containers the filter did not mean), and -u resolved from the container's own /etc files.
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { canLowerOomScore } from '../src/engine/create.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, dockerApi } from './dockerapi-helpers.js';
import { missing, sandbox, until } from './helpers.js';

const skip = missing({ standard: true });
const sb = sandbox('c32-habit-');
const { cli } = sb;
afterAll(() => sb.clean());

const ps = async (...f: string[]) => {
  const r = await cli(['ps', '-a', '--json', ...f.flatMap((x) => ['-f', x])]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return (JSON.parse(String(r.stdout)) as Array<{ Name: string }>).map((c) => c.Name).sort();
};

describe.skipIf(!!skip)('ps --filter', () => {
  beforeAll(async () => {
    await cli(['run', '-d', '--name', 'web-1', '-l', 'tier=web', '--network', 'none', 'host', 'sleep', '300']);
    await cli(['run', '--name', 'job-ok', '-l', 'tier=job', '--network', 'none', 'host', 'true']);
    await cli(['run', '--name', 'job-bad', '-l', 'tier=job', '--network', 'none', 'host', 'sh', '-c', 'exit 3']);
  });

  it('honours each key docker has', async () => {
    expect(await ps('label=tier=job')).toEqual(['job-bad', 'job-ok']);
    expect(await ps('label=tier', 'status=running')).toEqual(['web-1']);
    expect(await ps('exited=3')).toEqual(['job-bad']);
    expect(await ps('name=^/job')).toEqual(['job-bad', 'job-ok']);
    expect(await ps('ancestor=host')).toEqual(['job-bad', 'job-ok', 'web-1']);
    expect(await ps('ancestor=old')).toEqual([]);
    expect(await ps('network=none', 'label=tier=web')).toEqual(['web-1']);
    expect(await ps('since=job-ok')).toEqual(['job-bad']);
    expect(await ps('isolation=strict')).toEqual([]);
  });

  it('publish and expose match the ports a container shows: a running one\'s, never a created or stopped one\'s', async () => {
    expect((await cli(['run', '-d', '--name', 'pub', '-p', '127.0.0.1:47391:8080', '--expose', '9000', 'host', 'sleep', '300'])).exitCode).toBe(0);
    expect((await cli(['create', '--name', 'pub-new', '-p', '127.0.0.1:47392:8081', '--expose', '9001', 'host', 'sleep', '300'])).exitCode).toBe(0);
    expect(await ps('publish=47391')).toEqual(['pub']);
    expect(await ps('publish=47391/tcp', 'expose=8080')).toEqual(['pub']);
    expect(await ps('expose=9000')).toEqual(['pub']);
    expect(await ps('publish=47392')).toEqual([]);
    expect(await ps('expose=9001')).toEqual([]);
    expect((await cli(['stop', '-t', '1', 'pub'])).exitCode).toBe(0);
    expect(await ps('publish=47391')).toEqual([]);
    expect(await ps('expose=9000')).toEqual([]);
    await cli(['rm', '-f', 'pub', 'pub-new']);
  });

  it('refuses an unknown key or value with docker\'s words', async () => {
    for (const [f, msg] of [['bogus=1', "Invalid filter 'bogus'"], ['status=bogus', "Invalid filter 'status=bogus'"], ['exited=x', "Invalid filter 'exited=x'"], ['health=meh', "Invalid filter 'health=meh'"]]) {
      const r = await cli(['ps', '-a', '-f', f!]);
      expect(r.exitCode, f).toBe(125);
      expect(String(r.stderr)).toContain(msg);
    }
  });
});

const noDocker = existsSync(DOCKER) ? undefined : `missing ${DOCKER}`;
describe.skipIf(!!(skip ?? noDocker))('filters through the Docker API', () => {
  let api: Awaited<ReturnType<typeof dockerApi>>;
  beforeAll(async () => {
    api = await dockerApi('c32-habit-api-');
    await api.docker(['run', '-d', '--name', 'a1', '--label', 'k=v', 'host', 'sleep', '300']);
  }, 60_000);
  afterAll(() => api?.stop());

  it('ps, images and events refuse what they do not know and honour the rest', async () => {
    const d = api.docker;
    expect((await d(['ps', '-aq', '--filter', 'ancestor=old'])).stdout).toBe('');
    expect((await d(['ps', '-q', '--filter', 'label=k=v'])).stdout).toMatch(/^[0-9a-f]{12}$/);
    expect((await d(['ps', '--filter', 'status=bogus'])).stderr).toMatch(/Invalid filter 'status=bogus'/);
    expect((await d(['ps', '--filter', 'bogus=1'])).stderr).toMatch(/Invalid filter 'bogus'/);
    expect((await d(['images', '--filter', 'bogus=1'])).stderr).toMatch(/Invalid filter 'bogus'/);
    expect((await d(['images', '-q', '--filter', 'dangling=true'])).exitCode).toBe(0);
    expect((await d(['events', '--since', '0', '--until', '1', '--filter', 'bogus=1'])).stderr).toMatch(/Invalid filter 'bogus'/);
  });
});

describe.skipIf(!!skip)('-u as docker resolves it', () => {
  it('a name or a bare uid from the container\'s own /etc/passwd, for run and exec; a missing user is refused with docker\'s words', async () => {
    const id = async (args: string[]) => String((await cli(['run', '--rm', '--network', 'none', ...args, 'host', 'id'])).stdout).trim();
    expect(await id(['-u', 'nobody'])).toMatch(/^uid=65534\(nobody\) gid=65534/);
    expect(await id(['-u', 'daemon:nogroup'])).toMatch(/^uid=1\(daemon\) gid=65534/);
    expect(await id(['-u', '1'])).toMatch(/^uid=1\(daemon\) gid=1\(daemon\)/); // the entry's primary group, not gid = uid
    expect(await id(['-u', '4242'])).toMatch(/^uid=4242 gid=0/);
    const missing = await cli(['run', '--rm', '-u', 'nosuchuser', 'host', 'id']);
    expect(missing.exitCode).toBe(125);
    expect(String(missing.stderr)).toContain('unable to find user nosuchuser: no matching entries in passwd file');
    await cli(['run', '-d', '--name', 'u-exec', '--network', 'none', 'host', 'sleep', '300']);
    expect(String((await cli(['exec', '-u', 'nobody', 'u-exec', 'id', '-un'])).stdout).trim()).toBe('nobody');
    expect(String((await cli(['exec', '-u', 'ghost', 'u-exec', 'id'])).stderr)).toContain('unable to find user ghost');
    // exec -d: returns at once, the command runs on as the user asked, in the container
    const d = await cli(['exec', '-d', '-u', 'nobody', 'u-exec', 'sh', '-c', 'id -un > /tmp/detached; sleep 300']);
    expect([d.exitCode, String(d.stdout)]).toEqual([0, '']);
    expect(await until(async () => String((await cli(['exec', 'u-exec', 'cat', '/tmp/detached'])).stdout).trim() || undefined)).toBe('nobody');
    const it = await cli(['exec', '-d', '-it', 'u-exec', 'sh']);
    expect([it.exitCode, String(it.stderr)]).toEqual([125, expect.stringContaining('without -i or -t')]);
  });
});

describe.skipIf(!!skip)('-P, --expose, --oom-score-adj, --platform and --cpus, as docker has them', () => {
  it('publishes every exposed port, applies the OOM score to the command and to exec, checks the platform and the CPU count', async () => {
    expect((await cli(['run', '-d', '--name', 'pub', '-P', '--expose', '8080', '--expose', '9000/udp', '--oom-score-adj', '300', 'host', 'sleep', '300'])).exitCode).toBe(0);
    const ports = String((await cli(['port', 'pub'])).stdout);
    expect(ports).toMatch(/^8080\/tcp -> 0\.0\.0\.0:\d+$/m);
    expect(ports).toMatch(/^9000\/udp -> 0\.0\.0\.0:\d+$/m);
    expect(String((await cli(['exec', 'pub', 'cat', '/proc/1/oom_score_adj', '/proc/self/oom_score_adj'])).stdout).split('\n')).toEqual(['300', '300']);
    expect(String((await cli(['run', '--rm', '--isolation', 'strict', '--oom-score-adj', '250', 'host', 'cat', '/proc/self/oom_score_adj'])).stdout)).toBe('250');
    const low = await cli(['run', '--rm', '--oom-score-adj', '-100', 'host', 'cat', '/proc/self/oom_score_adj']);
    if (canLowerOomScore()) expect(String(low.stdout)).toBe('-100');
    else expect(String(low.stderr)).toMatch(/lowering it needs CAP_SYS_RESOURCE/);
    for (const [flags, msg] of [
      [['-P', '--network', 'host'], /Expected `-P` with `--network` private/],
      [['--oom-score-adj', '1001'], /Expected `--oom-score-adj` to be a whole number from -1000 to 1000/],
      [['--platform', 'linux/s390x'], /does not match the specified platform: wanted linux\/s390x/],
      [['--cpus', String(availableParallelism() + 1)], new RegExp(`Range of CPUs is from 0.01 to ${availableParallelism()}.00, as there are only ${availableParallelism()} CPUs available`)],
    ] as Array<[string[], RegExp]>) {
      const r = await cli(['run', '--rm', ...flags, 'host', 'true']);
      expect(r.exitCode, flags.join(' ')).toBe(125);
      expect(String(r.stderr)).toMatch(msg);
    }
    expect((await cli(['run', '--rm', '--platform', `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`, 'host', 'true'])).exitCode).toBe(0);
  });
});

describe.skipIf(!!(skip ?? missing({ strict: true })))('an image without /etc', () => {
  it('runs at standard and strict, on each network mode', async () => {
    const ctx = mkdtempSync(join(tmpdir(), 'c32-noetc-'));
    try {
      copyFileSync('/bin/busybox', join(ctx, 'busybox'));
      writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY busybox /busybox\nCMD ["/busybox", "cat", "/etc/hosts"]\n');
      expect((await cli(['build', '-q', '-t', 'noetc:1', ctx])).exitCode).toBe(0);
      for (const [level, network] of [['standard', 'none'], ['standard', 'private'], ['strict', 'none'], ['strict', 'private']]) {
        const r = await cli(['run', '--rm', '--isolation', level!, '--network', network!, 'noetc:1']);
        expect(r.exitCode, `${level} ${network}: ${String(r.stderr)}`).toBe(0);
        expect(String(r.stdout)).toMatch(/localhost/);
      }
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!!skip)('ps as docker scripts call it', () => {
  it('--format with docker\'s fields, `table` with its headers, json, --no-trunc, -n and -l; a bad template refused by name', async () => {
    for (const n of ['fmt-a', 'fmt-b']) expect((await cli(['run', '-d', '--name', n, '-l', `tier=${n}`, '--network', 'none', 'host', 'sleep', '300'])).exitCode).toBe(0);
    const ps = async (...args: string[]) => String((await cli(['ps', ...args])).stdout);
    expect(await ps('--filter', 'name=fmt-', '--format', '{{.Names}} {{.State}} {{.Label "tier"}} {{.Command}}')).toBe('fmt-b running fmt-b "sleep 300"\nfmt-a running fmt-a "sleep 300"');
    const table = (await ps('--filter', 'name=fmt-a', '--format', 'table {{.ID}}\t{{.Names}}\t{{.Labels}}')).split('\n');
    expect(table[0]).toMatch(/^CONTAINER ID\s{3}NAMES\s+LABELS$/);
    expect(table[1]).toMatch(/^[0-9a-f]{12}\s{3}fmt-a\s+tier=fmt-a$/);
    const json = JSON.parse(await ps('--filter', 'name=fmt-a', '--format', 'json')) as Record<string, string>;
    expect([json.Names, json.State, json.Labels, json.ID.length]).toEqual(['fmt-a', 'running', 'tier=fmt-a', 12]);
    expect((await ps('--filter', 'name=fmt-a', '--no-trunc', '--format', '{{.ID}}')).length).toBe(64);
    // stats takes the same templates, with docker's stats fields
    expect(String((await cli(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}} {{.CPUPerc}}', 'fmt-a'])).stdout)).toMatch(/^fmt-a \d+ \d+\.\d\d%$/);
    expect(String((await cli(['stats', '--no-stream', '--format', 'table {{.Name}}\t{{.MemUsage}}', 'fmt-a'])).stdout).split('\n')[0]).toMatch(/^NAME\s+MEM USAGE \/ LIMIT$/);
    await cli(['stop', '-t', '0', 'fmt-b']);
    // -l: the container created last, stopped or not; -n 2 the last two
    expect(await ps('-l', '--format', '{{.Names}} {{.State}}')).toBe('fmt-b exited');
    expect(await ps('-n', '2', '--format', '{{.Names}}')).toBe('fmt-b\nfmt-a');
    const bad = await cli(['ps', '--format', '{{.Names | nosuch}}']);
    expect([bad.exitCode, String(bad.stderr)]).toEqual([125, expect.stringContaining('no function `nosuch`')]);
    await cli(['rm', '-f', 'fmt-a', 'fmt-b']);
  });
});

describe.skipIf(!!skip)("docker's spellings of the limits", () => {
  it('--pids-limit, --ulimit, --log-opt and --memory-swap land where codex32\'s own flags do; disagreeing spellings and unknown options are refused', async () => {
    const r = await cli(['run', '-d', '--name', 'spell', '--network', 'none', '--pids-limit', '20', '--ulimit', 'nofile=256:512', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=2', '--memory', '64m', '--memory-swap', '96m', 'host', 'sleep', '300']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const hc = (await sb.inspect('spell')).HostConfig as Record<string, unknown>;
    expect([hc.PidsLimit, hc.Ulimits, hc.LogConfig, hc.MemorySwap]).toEqual([20, [{ Name: 'nofile', Soft: 256, Hard: 256 }], { MaxSize: 1024 * 1024, MaxFiles: 2 }, 96 * 1024 * 1024]);
    expect(String((await cli(['exec', 'spell', 'sh', '-c', 'ulimit -n'])).stdout)).toBe('256');
    await cli(['rm', '-f', 'spell']);
    for (const [args, msg] of [
      [['--pids', '10', '--pids-limit', '20'], 'Expected one value for `--pids-limit` and its codex32 spelling'],
      [['--ulimit', 'nproc=5'], 'Expected `--ulimit` to be nofile=N[:M], cpu=N[:M] or fsize=N[:M]'],
      [['--log-opt', 'mode=non-blocking'], 'Expected `--log-opt` to be max-size=SIZE or max-file=N'],
      [['--memory-swap', '1g'], 'You should always set the Memory limit when using Memoryswap limit'],
      [['--memory', '64m', '--memory-swap', '32m'], 'Minimum memoryswap limit should be larger than memory limit'],
    ] as const) {
      const bad = await cli(['run', '--rm', ...args, 'host', 'true']);
      expect([bad.exitCode, String(bad.stderr)], args.join(' ')).toEqual([125, expect.stringContaining(msg)]);
    }
  });
});

describe.skipIf(!!skip)('images as docker lists them', () => {
  it('REPOSITORY[:TAG], --filter, --format with docker\'s image fields, table and json, --no-trunc; an unknown filter refused', async () => {
    const ctx = mkdtempSync(join(tmpdir(), 'c32-imgls-'));
    try {
      writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nLABEL tier=front\nCOPY Dockerfile /\n');
      for (const t of ['lsimg/a:1', 'lsimg/b:2']) expect((await cli(['build', '-q', '-t', t, ctx])).exitCode).toBe(0);
      const ls = async (...args: string[]) => String((await cli(['images', ...args])).stdout);
      expect((await ls('lsimg/*', '--format', '{{.Repository}}:{{.Tag}}')).split('\n').sort()).toEqual(['lsimg/a:1', 'lsimg/b:2']);
      expect(await ls('lsimg/a', '--format', '{{.Repository}} {{.Tag}}')).toBe('lsimg/a 1');
      expect(await ls('-f', 'label=tier=front', '-f', 'reference=lsimg/b:*', '--format', '{{.Tag}} {{.Labels}}')).toBe('2 tier=front');
      const table = (await ls('lsimg/a', '--format', 'table {{.Repository}}\t{{.ID}}')).split('\n');
      expect(table[0]).toMatch(/^REPOSITORY\s+IMAGE ID$/);
      expect(table[1]).toMatch(/^lsimg\/a\s+[0-9a-f]{12}$/);
      expect((await ls('lsimg/a', '--no-trunc', '--format', '{{.ID}}')).length).toBe(71); // sha256:HEX
      expect((JSON.parse(await ls('lsimg/b', '--format', 'json')) as { Tag: string }).Tag).toBe('2');
      const bad = await cli(['images', '-f', 'bogus=1']);
      expect([bad.exitCode, String(bad.stderr)]).toEqual([125, expect.stringContaining("Invalid filter 'bogus'")]);
      await cli(['rmi', 'lsimg/a:1', 'lsimg/b:2']);
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!!skip)('events as docker filters them', () => {
  it('-f container, event, label and type as docker means them (the same filter as the API), --format over docker\'s event', async () => {
    expect((await cli(['run', '--rm', '--name', 'ev-a', '-l', 'team=x', '--network', 'none', 'host', 'true'])).exitCode).toBe(0);
    const ev = async (...args: string[]) => String((await cli(['events', '--since', '10m', '--until', '0s', ...args])).stdout);
    expect(await ev('-f', 'container=ev-a', '--format', '{{.Action}}')).toBe('create\nstart\ndie\ndestroy');
    expect(await ev('-f', 'container=ev-a', '-f', 'event=die', '--format', '{{.Type}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}')).toBe('container ev-a 0');
    expect(await ev('-f', 'label=team=x', '-f', 'event=start', '--format', '{{.Actor.Attributes.name}}')).toBe('ev-a');
    const typ = await cli(['events', '--until', '0s', '-f', 'type=die']);
    expect([typ.exitCode, String(typ.stderr)]).toEqual([125, expect.stringContaining("Invalid filter 'type=die'")]);
  });
});
