// standard and strict isolation with real namespaces, mounts, capabilities and cgroups.
import { createServer } from 'node:net';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SLOWDOWN, cgroupDir, idleMeter, missing, pidsWith, sandbox, sleep, until } from './helpers.js';

const sb = sandbox();
afterAll(() => sb.clean());
const { cli, inspect } = sb;

/** Run sh -c script in a fresh container of the given level; returns stdout, stderr, exit code. */
async function sh(level: string, script: string, extra: string[] = []) {
  const r = await cli(['run', '--rm', '--isolation', level, ...extra, 'host', 'sh', '-c', script]);
  return { out: String(r.stdout), err: String(r.stderr), code: r.exitCode };
}

for (const level of ['standard', 'strict'] as const) {
  const skip = missing({ [level]: true });
  describe.skipIf(!!skip)(`${level} isolation${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('PID 1 is the container init and host processes are invisible', async () => {
      const r = await sh(level, 'echo $$; ls /proc | grep -c "^[0-9]"; cat /proc/1/cmdline | tr "\\0" " "');
      const [self, count, init] = r.out.split('\n');
      expect(self).toBe('2');
      expect(Number(count)).toBeLessThan(6);
      expect(init).toContain('codex32-shim');
    });

    it('cannot see /root, the storage directory or other containers', async () => {
      await cli(['run', '-d', '--isolation', level, '--name', `neighbour-${level}`, 'host', 'sleep', '30']);
      const r = await sh(level, `ls -A /root 2>&1; ls ${sb.storage} 2>&1; ls /app | wc -l`);
      // strict keeps a /root of its own (empty, writable); standard has none: the host's is never there
      if (level === 'strict') expect(r.out).not.toMatch(/\/root|^\.\w/m);
      else expect(r.out).toMatch(/ls: cannot access '\/root': No such file or directory/);
      expect(r.out).toMatch(/No such file or directory/);
      await cli(['rm', '-f', `neighbour-${level}`]);
    });

    it('cannot write /usr, remount, or write core_pattern and sysrq-trigger', async () => {
      const r = await sh(level, [
        'touch /usr/evil 2>/dev/null && echo usr-writable',
        'mount -o remount,rw /usr 2>/dev/null && echo remounted',
        'mount -o remount,rw / 2>/dev/null && echo root-remounted',
        '(echo x > /proc/sys/kernel/core_pattern) 2>/dev/null && echo core-writable',
        '(echo x > /proc/sysrq-trigger) 2>/dev/null && echo sysrq-writable',
        'echo checked',
      ].join('; '));
      expect(r.out).toBe('checked');
    });

    it('has no CAP_SYS_ADMIN, and NoNewPrivs is set', async () => {
      const r = await sh(level, 'grep -E "CapEff|CapBnd|NoNewPrivs" /proc/self/status');
      const capEff = BigInt('0x' + /CapEff:\s*(\w+)/.exec(r.out)![1]);
      const capBnd = BigInt('0x' + /CapBnd:\s*(\w+)/.exec(r.out)![1]);
      expect(capEff & (1n << 21n)).toBe(0n);
      expect(capBnd & (1n << 21n)).toBe(0n);
      if (level === 'strict') expect(capEff).toBe(0n);
      expect(r.out).toMatch(/NoNewPrivs:\s*1/);
    });

    it('cannot reach the runtime through /proc/1 (no /proc/self/exe overwrite)', async () => {
      const r = await sh(level, 'readlink /proc/1/exe || echo no-link; cat /proc/1/environ >/dev/null 2>&1 || echo no-environ; (echo x >> /proc/1/exe) 2>/dev/null || echo no-write');
      expect(r.out).toBe('no-link\nno-environ\nno-write');
    });

    it('the hostname is the container name', async () => {
      const r = await cli(['run', '--rm', '--isolation', level, '--name', `named-${level}`, 'host', 'hostname']);
      expect(r.stdout).toBe(`named-${level}`);
    });

    it('a file descriptor the caller holds open never reaches the container', async () => {
      const fd = openSync('/etc/hostname', 'r');
      try {
        const r = await cli(['run', '--rm', '--isolation', level, 'host', 'ls', '/proc/self/fd'], { stdio: ['ignore', 'pipe', 'pipe', fd] as never });
        expect(String(r.stdout).split('\n').map(Number).sort()).toEqual([0, 1, 2, 3]); // 3 is ls's own directory handle
      } finally {
        closeSync(fd);
      }
    });

    it('/app is the image content and is writable; /tmp is private', async () => {
      const r = await sh(level, 'echo hi > /app/f && cat /app/f && touch /tmp/x && ls /tmp');
      expect(r.out).toBe('hi\nx');
    });

    it('a read-only volume is read-only and cannot be remounted', async () => {
      const r = await sh(level, 'cat /data/hostname >/dev/null && echo readable; touch /data/x 2>/dev/null && echo writable; mount -o remount,rw /data 2>/dev/null && echo remounted; echo end', ['-v', '/etc:/data:ro']);
      expect(r.out).toBe('readable\nend');
    });

    const cg = missing({ cgroup: ['pids'] });
    it.skipIf(!!cg)(`a fork bomb under --pids 64 is contained and stop clears it${cg ? ` (skipped: ${cg})` : ''}`, async () => {
      const name = `bomb-${level}`;
      await cli(['run', '-d', '--isolation', level, '--pids', '64', '--name', name, 'host', 'sh', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 1000']);
      await sleep(1500);
      const t0 = Date.now();
      expect((await cli(['ps'])).exitCode).toBe(0); // the host still answers
      expect(Date.now() - t0).toBeLessThan(30_000 * SLOWDOWN); // answers at all: a bomb that escaped would starve it
      const id = (await inspect(name)).Id;
      const current = Number(readFileSync(`${cgroupDir(id, 'pids')}/pids.current`, 'utf8').trim() || '0');
      expect(current).toBeLessThanOrEqual(64);
      await cli(['stop', '-t', '1', name]);
      await until(() => pidsWith('bomb').length === 0, 30_000).catch(() => undefined);
      expect((await inspect(name)).State.Status).toBe('exited');
      await cli(['rm', name]);
    });

    const mem = missing({ cgroup: ['memory'] });
    it.skipIf(!!mem)(`a memory hog under --memory 48m is OOM-killed and reported${mem ? ` (skipped: ${mem})` : ''}`, async () => {
      const r = await cli(['run', '--isolation', level, '--memory', '48m', '--name', `hog-${level}`, 'host', 'python3', '-c', 'x = []\nwhile True: x.append(bytearray(1024 * 1024))']);
      expect(r.exitCode).toBe(137);
      const doc = await inspect(`hog-${level}`);
      expect(doc.State.OOMKilled).toBe(true);
      expect(doc.State.ExitCode).toBe(137);
      await cli(['rm', `hog-${level}`]);
    });
  });
}

describe.skipIf(!!missing({ standard: true }))('on the host network', () => {
  const NET_BITS = (1n << 12n) | (1n << 13n); // CAP_NET_ADMIN, CAP_NET_RAW
  const probe = [
    'import socket',
    'for name, args in (("packet", (socket.AF_PACKET, socket.SOCK_RAW)), ("raw-icmp", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))):',
    '  try:',
    '    socket.socket(*args).close(); print(name, "opened")',
    '  except OSError as e:',
    '    print(name, e.errno)',
  ].join('\n');
  const capSets = (status: string) => ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].map((k) => BigInt('0x' + new RegExp(`${k}:\\s*(\\w+)`).exec(status)![1]));

  it('a standard container holds no NET_RAW or NET_ADMIN in any set and cannot open a packet socket', async () => {
    const r = await cli(['run', '--rm', '--isolation', 'standard', '--network', 'host', 'host', 'sh', '-c', `grep ^Cap /proc/self/status; python3 -c '${probe}'`]);
    for (const set of capSets(String(r.stdout))) expect(set & NET_BITS).toBe(0n);
    expect(capSets(String(r.stdout))[3] & (1n << 10n)).not.toBe(0n); // NET_BIND_SERVICE stays: the rule is narrow
    expect(String(r.stdout)).toContain('packet 1\nraw-icmp 1'); // EPERM
  });

  it('nor does a process exec\'d into it', async () => {
    await cli(['run', '-d', '--isolation', 'standard', '--network', 'host', '--name', 'hostnet', 'host', 'sleep', '300']);
    const r = await cli(['exec', 'hostnet', 'sh', '-c', `grep ^Cap /proc/self/status; python3 -c '${probe}'`]);
    for (const set of capSets(String(r.stdout))) expect(set & NET_BITS).toBe(0n);
    expect(String(r.stdout)).toContain('packet 1\nraw-icmp 1');
    await cli(['rm', '-f', 'hostnet']);
  });
});

describe.skipIf(!!missing({ strict: true }))('strict only', () => {
  it('maps root to an unprivileged host id, has only lo, and a read-only /', async () => {
    const r = await sh('strict', 'cat /proc/self/uid_map; ls /sys/class/net; touch /x 2>/dev/null || echo ro');
    const [map, ...rest] = r.out.split('\n');
    expect(map.trim().split(/\s+/)).not.toEqual(['0', '0', '4294967295']);
    expect(map.trim().split(/\s+/)[1]).not.toBe('0');
    expect(rest).toEqual(['lo', 'ro']);
  });

  it('cannot reach a server on the host loopback', async () => {
    const server = createServer((s) => {
      s.on('error', () => undefined); // the client may reset: that is not a failure
      s.end('secret\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const probe = `import socket\ntry:\n  socket.create_connection(("127.0.0.1", ${port}), timeout=${2 * SLOWDOWN}); print("reached")\nexcept OSError as e:\n  print("refused", e.errno)`;
      expect((await cli(['run', '--rm', '--isolation', 'strict', 'host', 'python3', '-c', probe])).stdout).toMatch(/^refused/);
      expect((await cli(['run', '--rm', '--isolation', 'standard', '--network', 'host', 'host', 'python3', '-c', probe])).stdout).toBe('reached');
    } finally {
      server.close();
    }
  });
});

// exec, health checks and cp join the container's namespaces: at strict the user namespace is joined
// last, after the network namespace the engine made (owned by the host's), or setns gets EPERM
describe.skipIf(!!missing({ strict: true }))('exec, health checks and cp at every level and network', () => {
  for (const [level, network] of [['standard', 'private'], ['standard', 'host'], ['standard', 'none'], ['strict', 'private'], ['strict', 'none']] as const) {
    it(`${level} on --network ${network}`, async () => {
      const name = `join-${level}-${network}`;
      const up = await cli(['run', '-d', '--name', name, '--isolation', level, '--network', network, '--health-cmd', 'test -d /proc/1', '--health-interval', '1', 'host', 'sh', '-c', 'echo data > /tmp/f; exec sleep 300']);
      expect(up.exitCode, String(up.stderr)).toBe(0);
      try {
        const id = await cli(['exec', name, 'sh', '-c', 'id -u; cat /tmp/f']);
        expect(id.stderr).toBe('');
        expect(String(id.stdout).split('\n')).toEqual(['0', 'data']);
        const cp = await cli(['cp', `${name}:/tmp/f`, '-']);
        expect(cp.exitCode, String(cp.stderr)).toBe(0);
        expect(String(cp.stdout)).toContain('data');
        await until(async () => JSON.parse(String((await cli(['inspect', name])).stdout))[0].State.Health?.Status === 'healthy', 60_000, 200);
      } finally {
        await cli(['rm', '-f', name]);
      }
    });
  }
});

describe.skipIf(!!missing({ standard: true, cgroup: ['cpu'] }))('cpu quota', () => {
  it('--cpus 0.5 holds four busy loops near half a CPU', async () => {
    await cli(['run', '-d', '--cpus', '0.5', '--name', 'spinner', 'host', 'sh', '-c', 'for i in 1 2 3 4; do (while :; do :; done) & done; wait']);
    const id = (await inspect('spinner')).Id;
    await sleep(500);
    const c0 = cpuTicksOf(id);
    const t0 = Date.now();
    const idle = idleMeter();
    await sleep(3000);
    const cpus = (cpuTicksOf(id) - c0) / 100 / ((Date.now() - t0) / 1000);
    const spare = idle();
    expect(cpus).toBeLessThan(0.7); // the quota holds whatever else runs
    // and the loops get near their half, unless the host had no CPU to spare (a loaded machine)
    expect(cpus > 0.3 || spare < 0.5, `${cpus.toFixed(2)} CPUs with ${spare.toFixed(2)} idle`).toBe(true);
    await cli(['rm', '-f', 'spinner']);
  });
});

/** CPU time in clock ticks (user+system, 100 per second) consumed by the processes of a container, from /proc. */
function cpuTicksOf(id: string): number {
  const pids = readFileSync(`${cgroupDir(id, 'cpu')}/cgroup.procs`, 'utf8').split('\n').filter(Boolean);
  let t = 0;
  for (const p of pids) {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return t;
}
