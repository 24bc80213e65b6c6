// The bot commands as a PM2 user drives them: apply a PM2 file, one view of all bots, many at once.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, sandbox, until } from './helpers.js';

const sb = sandbox('c32-botcli-');
afterAll(async () => {
  await sb.cli(['bot', 'rm', 'all']);
  await sb.clean();
});

describe('bot CLI', () => {
  it('applies a PM2 file, lists usage, merges logs, and acts on names, globs and all', async () => {
    const applied = await sb.cli(['bot', 'apply', '--env', 'production', join(ROOT, 'test', 'fixtures', 'pm2', 'ecosystem.config.js')]);
    expect(applied.exitCode).toBe(0);
    expect(String(applied.stdout).split('\n').sort()).toEqual(['pm2-once: applied and running', 'pm2-web-0: applied and running', 'pm2-web-1: applied and running']);
    // sampled once each bot has started running (under load that can take a moment)
    const ls = await until(async () => {
      const lines = String((await sb.cli(['bot', 'ls'])).stdout).split('\n');
      return lines.filter((l) => /LOCAL_PROCESS\s+running\s+\d+\s+\d+\.\d\s+\d+(\.\d)?MiB/.test(l)).length === 3 ? lines : undefined;
    }, 20_000, 200);
    expect(ls[0]).toMatch(/^NAME\s+TYPE\s+STATUS\s+PID\s+CPU %\s+MEMORY\s+RESTARTS\s+UPTIME\s+URL$/);
    const stats = await until(async () => {
      const rows = JSON.parse(String((await sb.cli(['stats', '--json'])).stdout)) as Array<{ Name: string; MemRSS: number }>;
      return rows.length === 3 ? rows : undefined;
    }, 20_000, 200);
    expect(stats.map((s) => s.Name).sort()).toEqual(['pm2-once', 'pm2-web-0', 'pm2-web-1']);
    expect(stats[0].MemRSS).toBeGreaterThan(1024 * 1024);
    // every bot's output, prefixed; stderr alone with --err
    const merged = await until(async () => {
      const out = String((await sb.cli(['bot', 'logs', '-t'])).stdout);
      return /^pm2-web-1 \| \d{4}-\d\d-\d\dT\S+ up pid=/m.test(out) && /^pm2-once  \| /m.test(out) ? out : undefined;
    });
    expect(merged).toMatch(/^pm2-web-0 \| \S+ up pid=\d+ version=none port=41000 instance=0 mode=prod/m);
    expect(String((await until(async () => String((await sb.cli(['bot', 'logs', '--err', 'pm2-once'])).stderr) || undefined)))).toMatch(/^tick \d+/);
    // a closed pipe ends the command quietly
    const piped = await execa('bash', ['-c', `node ${BIN} bot logs --out | head -1 >/dev/null; echo \${PIPESTATUS[0]}`], { env: sb.env, reject: false });
    expect(String(piped.stdout)).toBe('0');
    expect(String(piped.stderr)).toBe('');
    const stopped = await sb.cli(['bot', 'stop', 'pm2-web']); // the name of an instances definition selects its copies
    expect(String(stopped.stdout).split('\n')).toEqual(['pm2-web-0: exited', 'pm2-web-1: exited']);
    expect(String((await sb.cli(['bot', 'restart', 'pm2-*'])).stdout).split('\n')).toEqual(['pm2-once: running', 'pm2-web-0: running', 'pm2-web-1: running']);
    expect(String((await sb.cli(['bot', 'stop', 'all'])).stdout).split('\n')).toEqual(['pm2-once: exited', 'pm2-web-0: exited', 'pm2-web-1: exited']);
    // boot: the unit brings containers and bots back; it is printed where systemd does not run
    const unit = String((await sb.cli(['startup', '--print'])).stdout);
    expect(unit).toContain(`Environment=CONTAINER_STORAGE_DIR=${sb.storage}`);
    expect(unit).toMatch(/ExecStart=\S+node \S+bin\/codex32 start --all\nExecStart=\S+node \S+bin\/codex32 bot restore/);
    expect(String((await sb.cli(['startup', '--serve', '--print'])).stdout)).toMatch(/Type=simple\nExecStart=\S+node \S+ serve/);
    expect(String((await sb.cli(['startup', '--serve', '--host', '0.0.0.0', '--port', '9000', '--print'])).stdout)).toMatch(/\nExecStart=\S+node \S+ serve --host 0\.0\.0\.0 --port 9000\n/);
    const portless = await sb.cli(['startup', '--port', '9000', '--print']);
    expect(portless.exitCode).toBe(125);
    expect(String(portless.stderr)).toContain('Expected --host and --port with --serve');
    if (!existsSync('/run/systemd/system')) expect(String((await sb.cli(['startup'])).stderr)).toContain('systemd is not running on this host: nothing was installed');
    expect(String((await sb.cli(['bot', 'restore'])).stdout)).toBe(''); // stopped by the user: they stay stopped
    const none = await sb.cli(['bot', 'stop', 'nosuch*']);
    expect(none.exitCode).toBe(125);
    expect(String(none.stderr)).toContain('No such bot: nosuch*');
  });
});
