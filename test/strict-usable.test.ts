// strict as an app builder uses it: the capabilities that act only inside its user namespace can be
// added (and work there), the rest are refused with why, and homes and tool caches are writable while
// the rest of the root stays read-only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/engine/engine.js';
import { privateNetworkMissing } from '../src/engine/network.js';
import { missing, sandbox } from './helpers.js';

const skip = missing({ strict: true });
const sb = sandbox('c32-strictuse-');
const storage = mkdtempSync(join(tmpdir(), 'c32-strictlib-'));
const engine = new ContainerEngine({ storageDir: storage });
afterAll(async () => {
  for (const c of await engine.list({ all: true })) await engine.remove(c.id, { force: true });
  engine.close();
  rmSync(storage, { recursive: true, force: true });
  await sb.clean();
});

const capEff = (out: string) => BigInt('0x' + /CapEff:\s*(\w+)/.exec(out)![1]);
const strict = async (flags: string[], script: string) => {
  const r = await sb.cli(['run', '--rm', '--isolation', 'strict', ...flags, 'host', 'sh', '-c', script]);
  return { out: String(r.stdout), err: String(r.stderr), code: r.exitCode };
};

describe.skipIf(!!skip)(`strict for an app builder${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('--cap-add CHOWN SETUID SETGID at strict: held exactly, and chown inside succeeds where it failed without', async () => {
    const script = 'grep CapEff /proc/self/status; touch /tmp/f; chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f';
    const without = await strict([], script);
    expect(capEff(without.out)).toBe(0n);
    expect(without.err).toMatch(/Operation not permitted/);
    const added = await strict(['--cap-add', 'CHOWN', '--cap-add', 'SETUID', '--cap-add', 'SETGID'], script);
    expect(added.code, added.err).toBe(0);
    expect(capEff(added.out)).toBe((1n << 0n) | (1n << 6n) | (1n << 7n));
    expect(added.out).toMatch(/\n1000:1000$/);
  });

  it('refuses SYS_ADMIN, NET_ADMIN, NET_RAW and ALL at strict, naming why, through the CLI and the library', async () => {
    const cases: Array<[string, RegExp]> = [
      ['SYS_ADMIN', /got `SYS_ADMIN`: SYS_ADMIN stays refused at strict because it mounts file systems, makes namespaces/],
      ['NET_ADMIN', /got `NET_ADMIN`: NET_ADMIN stays refused at strict because it configures the network stack/],
      ['NET_RAW', /got `NET_RAW`: NET_RAW stays refused at strict because .*use --isolation standard for it/],
      ['SYS_MODULE', /got `SYS_MODULE`: .*loads kernel code/],
      ['ALL', /got `ALL`: ALL stays refused at strict because every capability would include SYS_ADMIN/],
    ];
    for (const [cap, msg] of cases) {
      const r = await strict(['--cap-add', cap], 'true');
      expect(r.code, cap).toBe(125);
      expect(r.err, cap).toMatch(/Expected `--cap-add` to be one of CHOWN, DAC_OVERRIDE, .*SETFCAP at strict isolation/);
      expect(r.err, cap).toMatch(msg);
    }
    await expect(engine.create({ image: 'host', command: ['true'], isolation: 'strict', capAdd: ['SYS_ADMIN'] })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/SYS_ADMIN stays refused at strict because/),
    });
    expect(await engine.list({ all: true })).toEqual([]);
  });

  it('HOME, /root, /home and npm\'s cache are writable at strict; /usr, /etc and / stay read-only', async () => {
    const script = [
      'cache=$(npm config get cache)', 'echo "cache=$cache"',
      'mkdir -p "$cache/_cacache" && touch "$cache/_cacache/x" && echo cache-writable',
      'touch /root/r /home/h /app/a /tmp/t && echo homes-writable',
      'touch /usr/x 2>/dev/null && echo usr-writable',
      'touch /etc/x 2>/dev/null && echo etc-writable',
      'touch /x 2>/dev/null && echo root-writable',
      'echo done',
    ].join('; ');
    const r = await strict(['-e', 'HOME=/home/dev'], script);
    expect(r.out, r.err).toBe('cache=/home/dev/.npm\ncache-writable\nhomes-writable\ndone');
    // through the library: what the main process wrote under /root an exec reads, and /usr refuses the exec too
    const lib = await engine.create({ image: 'host', command: ['sh', '-c', 'echo kept > /root/keep; sleep 30'], isolation: 'strict', network: 'none' });
    await lib.start();
    const seen = await engine.exec(lib.id, ['sh', '-c', 'for i in $(seq 50); do [ -f /root/keep ] && break; sleep 0.1; done; cat /root/keep; touch /usr/y 2>&1 | grep -c "Read-only"']);
    expect(seen.stdout).toBe('kept\n1\n');
    await engine.remove(lib.id, { force: true });
  });

  const noNet = process.env.CI === 'true' ? undefined : privateNetworkMissing()[0];
  it.skipIf(!!noNet)('NET_BIND_SERVICE at strict binds port 80 on a private network, and nothing without it', async () => {
    const bind = `node -e "require('net').createServer().listen(80, () => { console.log('bound'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(0) })"`;
    expect((await strict(['--network', 'private'], bind)).out).toBe('EACCES');
    const r = await strict(['--network', 'private', '--cap-add', 'NET_BIND_SERVICE'], bind);
    expect(r.out, r.err).toBe('bound');
  });
});
