// A test host for network tests: a network namespace of the test's own, joined to the host by a veth pair
// (never named c32-*: those are codex32's), serving a directory over HTTP on port 8080. Containers reach it
// only by being routed out through the host, as they would reach any other machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { until } from './helpers.js';

const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });

/** Start the test host (subnet picks 10.<subnet>.X.0/24 so two test files never share one); stop() removes it. */
export async function testHost(subnet: number, files: Record<string, string | Buffer>) {
  const tag = `${subnet}${process.pid.toString(36).slice(-4)}`;
  const ns = `t32n-${tag}`;
  const hostIf = `t32h-${tag}`;
  const octet = 100 + (process.pid % 100);
  const gw = `10.${subnet}.${octet}.1`;
  const addr = `10.${subnet}.${octet}.2`;
  const www = mkdtempSync(join(tmpdir(), 'c32-www-'));
  for (const [f, data] of Object.entries(files)) writeFileSync(join(www, f), data);
  ip('netns', 'add', ns);
  ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip('addr', 'add', `${gw}/24`, 'dev', hostIf);
  ip('link', 'set', hostIf, 'up');
  ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  const server: ResultPromise = execa('ip', ['netns', 'exec', ns, 'python3', '-m', 'http.server', '8080', '--bind', addr, '--directory', www], { reject: false });
  await until(() => execa('curl', ['-s', '-m', '1', `http://${addr}:8080/`], { reject: false }).then((r) => r.exitCode === 0));
  const stop = () => {
    server.kill('SIGKILL');
    for (const args of [['link', 'del', hostIf], ['netns', 'del', ns]])
      try {
        ip(...args);
      } catch {
        /* not created */
      }
    rmSync(www, { recursive: true, force: true });
  };
  return { addr, gw, www, url: `http://${addr}:8080`, stop };
}
