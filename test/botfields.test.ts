// What a PM2 file's fields become, kept or refused: one listing pass, commands pinned at apply, PM2's working
// directory, namespaces, npm scripts, YAML merge keys, per-bot log rotation, and every problem in one error.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { readBotFile } from '../src/executor/botfile.js';
import { onPath } from '../src/executor/pincommand.js';
import { botUsage } from '../src/executor/views.js';
import { ROOT, botSandbox, sandbox, until } from './helpers.js';

const { storage, ex, logsOf } = botSandbox('c32-botfields-');
const tmp = mkdtempSync(join(storage, 'files-'));
const write = (dir: string, file: string, text: string, mode?: number) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), text);
  if (mode) chmodSync(join(dir, file), mode);
  return join(dir, file);
};

describe('bot fields', () => {
  it('lists every bot in one pass: CPU % over the time since the previous listing, memory from one read of /proc', async () => {
    await ex.apply([
      { name: 'ls-hog', script: join(ROOT, 'bots', 'cpu-hog.js'), deployment: { type: 'LOCAL_PROCESS' } },
      { name: 'ls-idle', script: join(ROOT, 'bots', 'heartbeat.py'), env: { INTERVAL: '5' }, deployment: { type: 'LOCAL_PROCESS' } },
    ]);
    await botUsage(ex); // the first listing leaves its marks
    expect(Object.keys(JSON.parse(readFileSync(join(storage, 'bot-usage.json'), 'utf8'))).sort()).toEqual(['ls-hog', 'ls-idle']);
    await new Promise((r) => setTimeout(r, 1000));
    const rows = await botUsage(ex);
    const hog = rows.find((r) => r.name === 'ls-hog')!;
    const idle = rows.find((r) => r.name === 'ls-idle')!;
    // a busy loop over the last second, sharing two cores with whatever else this host runs: above an idle bot
    expect(hog.cpuPercent).toBeGreaterThan(2);
    expect(idle.cpuPercent).toBeLessThan(hog.cpuPercent!);
    expect(idle.memory).toBeGreaterThan(1024 * 1024);
    expect(hog.memory).toBeGreaterThan(1024 * 1024);
    for (const b of ['ls-hog', 'ls-idle']) await ex.remove(b);
  });

  it('pins a LOCAL_PROCESS command at apply: a restart with another PATH runs the same program', async () => {
    const a = write(join(tmp, 'path-a'), 'fakepy', '#!/bin/sh\necho "interpreter A $1"\nexec sleep 100\n', 0o755);
    write(join(tmp, 'path-b'), 'fakepy', '#!/bin/sh\necho "interpreter B $1"\nexec sleep 100\n', 0o755);
    const code = write(join(tmp, 'pinned'), 'main.fake', 'x\n');
    const saved = process.env.PATH;
    try {
      process.env.PATH = `${join(tmp, 'path-a')}:${saved}`;
      await ex.apply([{ name: 'pinned', script: code, args: ['fakepy', 'main.fake'], deployment: { type: 'LOCAL_PROCESS' } }]);
      expect(ex.get('pinned').args[0]).toBe(a);
      expect(ex.get('pinned').env.PATH).toBe(process.env.PATH);
      await until(async () => (await logsOf('pinned')).includes('interpreter A main.fake'));
      process.env.PATH = `${join(tmp, 'path-b')}:${saved}`; // another shell
      await ex.restartBot('pinned');
      await until(async () => ((await logsOf('pinned')).match(/interpreter A/g) ?? []).length === 2);
      expect(await logsOf('pinned')).not.toContain('interpreter B');
      // a program on no PATH is refused at apply, with every other problem of the file
      await expect(ex.apply([
        { name: 'nowhere', script: code, args: ['no-such-interpreter-c32'], deployment: { type: 'LOCAL_PROCESS' } },
        { name: 'limited', script: code, args: ['fakepy'], deployment: { type: 'LOCAL_PROCESS', limits: { memory: '64m' } } },
      ])).rejects.toThrow(/bot nowhere: args: `no-such-interpreter-c32` is not on the PATH[\s\S]*bot limited: deployment.limits/);
    } finally {
      process.env.PATH = saved;
      await ex.remove('pinned');
    }
  });

  it('runs a PM2 app in cwd, else in the ecosystem file\'s directory; npm scripts, namespaces and YAML merge keys', async () => {
    const proj = join(tmp, 'proj');
    write(join(proj, 'src'), 'where.js', 'console.log("cwd=" + process.cwd()); setInterval(() => {}, 1000);\n');
    write(proj, 'package.json', JSON.stringify({ name: 'proj', private: true, scripts: { start: 'node -e "console.log(\'npm start in \' + process.cwd()); setInterval(() => {}, 1000)"' } }));
    write(proj, 'ecosystem.yaml', [
      'defaults: &defaults',
      '  namespace: api',
      '  autorestart: false',
      '  env: { SHARED: "yes" }',
      'apps:',
      '  - <<: *defaults',
      '    name: where',
      '    script: ./src/where.js',
      '  - <<: *defaults',
      '    name: web',
      '    script: npm',
      '    args: start',
      '  - name: other',
      '    script: ./where.js',
      '    cwd: ./src',
      '',
    ].join('\n'));
    // the file's own key `defaults` is not an app field: PM2 reads `apps` only
    const { bots } = await readBotFile(join(proj, 'ecosystem.yaml'));
    expect(bots.find((b) => b.name === 'where')).toMatchObject({ namespace: 'api', env: { SHARED: 'yes' }, script: proj, deployment: { restart: 'no' } });
    expect(bots.find((b) => b.name === 'web')).toMatchObject({ namespace: 'api', script: proj, args: [onPath('npm', process.env.PATH!), 'start'] });
    await ex.applyFile(join(proj, 'ecosystem.yaml'));
    expect(ex.resolve(['api']).sort()).toEqual(['web', 'where']);
    await until(async () => (await logsOf('where')).includes(`cwd=${proj}\n`));
    await until(async () => (await logsOf('other')).includes(`cwd=${join(proj, 'src')}\n`));
    await until(async () => (await logsOf('web')).includes(`npm start in ${proj}`), 30_000);
    for (const b of ['where', 'web', 'other']) await ex.remove(b);
  });

  it('reports every problem of a PM2 file in one pass, and refuses what it would otherwise ignore', async () => {
    const script = join(ROOT, 'test', 'fixtures', 'pm2', 'app.js');
    const file = write(tmp, 'bad.json', JSON.stringify({ apps: [
      { name: 'a', script, cron_restart: 'every tuesday', pid_file: '/tmp/a.pid' },
      { name: 'b', script, log_date_format: 'YYYY-MM-DD' },
      { name: 'c', script, time: true, out_file: join(tmp, 'c.log') },
    ] }));
    const msg = ((await readBotFile(file).catch((e: Error) => e)) as Error).message;
    // the translation's problem and the bot's own check (the cron pattern) together
    expect(msg).toMatch(/bot a: pid_file: not supported/);
    expect(msg).toMatch(/bot a: deployment\.cron_restart: Expected a cron pattern/);
    expect(msg).toMatch(/bot b: log_date_format: only with out_file or error_file/);
    expect(msg).not.toMatch(/bot c/);
    // codex32's own form refuses the same, and the Kubernetes-only fields outside Kubernetes, all at once
    const native = write(tmp, 'native.yaml', `bots:\n  - { name: n1, script: ${script}, log_date_format: YYYY, deployment: { type: LOCAL_PROCESS, namespace: prod, image: "node:20" } }\n`);
    const { bots } = await readBotFile(native);
    await expect(ex.apply(bots)).rejects.toThrow(/bot n1: log_date_format: Expected out_file or error_file[\s\S]*bot n1: deployment\.namespace: Expected only with type KUBERNETES_POD[\s\S]*bot n1: deployment\.image/);
    const ok = write(tmp, 'envs.json', JSON.stringify({ apps: [{ name: 'd', script, env_production: { X: '1' } }] }));
    await expect(readBotFile(ok, { env: 'staging' })).rejects.toThrow(/--env staging: no app has env_staging; the environments given are env_production/);
    expect((await readBotFile(ok, { env: 'production' })).bots[0].env).toEqual({ X: '1' });
  });

  it('counts every restart with its reason: the supervisor\'s across supervisors, the user\'s, memory, cron and watch', async () => {
    await ex.apply([{ name: 'counted', script: join(ROOT, 'bots', 'crasher.py'), env: { LIFETIME: '0.1', EXIT_CODE: '3' }, deployment: { type: 'LOCAL_PROCESS', restart: 'on-failure:2' } }]);
    await until(async () => (await ex.status('counted')).status === 'errored', 20_000, 100);
    await ex.restartBot('counted'); // a new supervisor, which gives up again after its own 2 restarts
    await until(async () => (await ex.status('counted')).status === 'errored' && (await ex.status('counted')).restarts === 5, 20_000, 100);
    await ex.autoRestart('counted', 'memory_restart');
    await until(async () => (await ex.status('counted')).status === 'errored' && (await ex.status('counted')).restarts === 8, 20_000, 100);
    expect((await ex.status('counted')).restartReasons).toEqual({ policy: 6, user: 1, memory_restart: 1 });
    const [listed] = (await botUsage(ex, ['counted']));
    expect(listed).toMatchObject({ restarts: 8, restartReasons: { policy: 6, user: 1, memory_restart: 1 } });
    await ex.remove('counted');
  });

  it('rotates a bot\'s own log at its max_size, keeping retain files beside the live one', async () => {
    const spam = write(join(tmp, 'spam'), 'spam.sh', '#!/bin/sh\ni=0\nwhile [ $i -lt 400 ]; do echo "line $i of a bot that writes a lot, enough to rotate its log"; i=$((i+1)); done\nexec sleep 100\n', 0o755);
    const file = write(tmp, 'rotate.json', JSON.stringify({ apps: [{ name: 'spam', script: spam, interpreter: 'sh', max_size: '4K', retain: 1 }] }));
    await ex.applyFile(file);
    const dir = join(storage, 'bots', 'spam');
    await until(() => existsSync(join(dir, 'container.log.1')), 20_000, 100);
    await until(async () => (await ex.status('spam')).status === 'running' && (await logsOf('spam')).includes('line 399'), 20_000, 100);
    expect(existsSync(join(dir, 'container.log.2'))).toBe(false);
    await ex.remove('spam');
  });
});

describe('bot CLI, many bots at once', () => {
  const sb = sandbox('c32-botfields-cli-');
  afterAll(async () => {
    await sb.cli(['bot', 'rm', 'all']);
    await sb.clean();
  });

  it('stops several bots at once: their grace periods overlap instead of adding up', async () => {
    const dir = mkdtempSync(join(sb.storage, 'code-'));
    const stubborn = write(dir, 'stubborn.sh', '#!/bin/sh\ntrap "" INT TERM\necho up\nwhile true; do sleep 0.2; done\n', 0o755);
    const file = write(dir, 'eco.json', JSON.stringify({ apps: [1, 2, 3].map((i) => ({ name: `stub-${i}`, namespace: 'stubs', script: stubborn, interpreter: 'sh', kill_timeout: 3000 })) }));
    expect((await sb.cli(['bot', 'apply', file])).exitCode).toBe(0);
    const ls = String((await sb.cli(['bot', 'ls'])).stdout).split('\n');
    expect(ls[0]).toMatch(/^NAME\s+NAMESPACE\s+TYPE\s+STATUS/);
    expect(ls.filter((l) => /^stub-\d\s+stubs\s+LOCAL_PROCESS\s+running/.test(l))).toHaveLength(3);
    const t0 = performance.now();
    const stopped = await sb.cli(['bot', 'stop', 'stubs']); // a namespace selects its bots
    const took = performance.now() - t0;
    expect(String(stopped.stdout).split('\n')).toEqual(['stub-1: exited', 'stub-2: exited', 'stub-3: exited']);
    // each ignores its stop signal and waits out its 3 s: one after another that would be 9 s or more
    expect(took).toBeGreaterThan(3000);
    expect(took).toBeLessThan(9000);
  });
});
