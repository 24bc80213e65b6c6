// PM2 ecosystem files: the same file as JavaScript, JSON and YAML, PM2's fields and defaults, errors in one
// pass, and the fields that run real processes (instances, env, args, min_uptime/max_restarts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readBotFile } from '../src/executor/botfile.js';
import { ROOT, botSandbox, until } from './helpers.js';

const FIX = join(ROOT, 'test', 'fixtures', 'pm2');
const { storage, ex, logsOf } = botSandbox('c32-pm2-');
const tmp = mkdtempSync(join(storage, 'files-')); // removed with the sandbox

describe('PM2 ecosystem files', () => {
  it('reads the same apps from .js, JSON and YAML, with PM2 defaults, --env and instances', async () => {
    const loaded = createRequire(import.meta.url)(join(FIX, 'ecosystem.config.js')) as { apps: object[] };
    // the copies live elsewhere: relative paths are made relative to the fixture by an explicit cwd
    const apps = { apps: loaded.apps.map((a) => ({ cwd: FIX, ...a })) };
    writeFileSync(join(tmp, 'ecosystem.json'), JSON.stringify(apps));
    writeFileSync(join(tmp, 'ecosystem.yaml'), stringify(apps));
    const js = await readBotFile(join(FIX, 'ecosystem.config.js'), { env: 'production' });
    expect(js.format).toBe('pm2');
    for (const f of ['ecosystem.json', 'ecosystem.yaml']) expect(await readBotFile(join(tmp, f), { env: 'production' })).toEqual(js);
    const [web0, web1, once] = js.bots;
    expect(web0).toMatchObject({
      name: 'pm2-web-0', instance_of: 'pm2-web', script: FIX,
      args: ['node', '--max-old-space-size=64', './app.js', '--alpha', 'two words'],
      env: { FROM_FILE: 'yes', PORT: '41000', APP_MODE: 'prod', SHUTDOWN_MS: '300', NODE_APP_INSTANCE: '0' },
      deployment: {
        type: 'LOCAL_PROCESS', restart: 'unless-stopped', max_restarts: 5, min_uptime: 2, restart_delay: 0.1, backoff_max: 15,
        stop_timeout: 3, stop_signal: 'SIGINT', memory_restart: 200 * 1024 * 1024, cron_restart: '0 3 * * *',
      },
      watch: true, watch_ignore: ['logs/**', '*.log'], watch_delay: 0.5, log_date_format: 'YYYY-MM-DD HH:mm:ss',
      out_file: join(FIX, 'logs', 'web-out.log'), error_file: join(FIX, 'logs', 'web-err.log'),
    });
    expect(web1).toMatchObject({ name: 'pm2-web-1', env: { PORT: '41001', NODE_APP_INSTANCE: '1' } });
    // PM2's defaults where the file says nothing: SIGINT, a 1.6 s kill_timeout, no restart when autorestart is off
    expect(once).toMatchObject({ name: 'pm2-once', args: ['node', './app.js'], env: { TICK_MS: '200' }, deployment: { restart: 'no', stop_timeout: 1.6, stop_signal: 'SIGINT' } });
    const plain = await readBotFile(join(tmp, 'ecosystem.json'));
    expect(plain.bots[0].env).toMatchObject({ APP_MODE: 'dev' });
    // PM2 restarts by default: 16 unstable restarts within 1 s uptime, at once
    writeFileSync(join(tmp, 'defaults.json'), JSON.stringify({ apps: [{ script: join(FIX, 'app.js') }] }));
    expect((await readBotFile(join(tmp, 'defaults.json'))).bots[0]).toMatchObject({ name: 'app', deployment: { restart: 'unless-stopped', max_restarts: 16, min_uptime: 1, restart_delay: 0 } });
  });

  it('reports every problem of every app in one pass, naming the bot; fields it cannot honour are refused with the reason', async () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(file, JSON.stringify({ apps: [
      { name: 'a', script: join(FIX, 'app.js'), exec_mode: 'spread', instances: 2 },
      { name: 'b', script: join(FIX, 'app.js'), max_memory_restart: 'lots', pid_file: '/tmp/b.pid', min_uptime: 'soon' },
      { name: 'c', script: join(FIX, 'missing.js'), colour: 'blue' },
    ] }));
    const err = await readBotFile(file).catch((e: Error) => e);
    const msg = (err as Error).message;
    expect(msg).toMatch(/bot a: exec_mode: Expected fork or cluster, got `spread`/);
    expect(msg).toMatch(/bot b: max_memory_restart: Expected `max_memory_restart` to be a size/);
    expect(msg).toMatch(/bot b: pid_file: not supported: the pid is shown by `codex32 bot ls`/);
    expect(msg).toMatch(/bot b: min_uptime: Expected milliseconds/);
    expect(msg).toMatch(/bot c: script: Expected an existing file/);
    expect(msg).toMatch(/bot c: colour: not a PM2 field codex32 knows/);
    await expect(ex.applyFile(file)).rejects.toThrow(/bot a/);
    expect(ex.list()).toEqual([]);
  });

  it('evaluates a .js file in a child process and gives up on one that never finishes', async () => {
    writeFileSync(join(tmp, 'package.json'), '{"type":"commonjs"}');
    writeFileSync(join(tmp, 'hang.config.js'), 'while (true) {}\n');
    await expect(readBotFile(join(tmp, 'hang.config.js'), { timeoutMs: 1000 })).rejects.toThrow(/finish loading within 1 s/);
    writeFileSync(join(tmp, 'throws.config.cjs'), 'throw new Error("no config for you")\n');
    await expect(readBotFile(join(tmp, 'throws.config.cjs'))).rejects.toThrow(/load as a JavaScript module: .*no config for you/);
    writeFileSync(join(tmp, 'esm.config.mjs'), `export default { apps: [{ name: 'esm', script: ${JSON.stringify(join(FIX, 'app.js'))} }] };\n`);
    expect((await readBotFile(join(tmp, 'esm.config.mjs'))).bots[0].name).toBe('esm');
  });

  it('runs the apps: N instances with PORT+i, the --env values, string args and interpreter args', async () => {
    const r = await ex.applyFile(join(FIX, 'ecosystem.config.js'), { env: 'production' });
    expect(r.started.sort()).toEqual(['pm2-once', 'pm2-web-0', 'pm2-web-1']);
    for (const i of [0, 1]) {
      const out = await until(async () => (await logsOf(`pm2-web-${i}`)).match(/^up .*$/m)?.[0]);
      expect(out).toMatch(new RegExp(`port=4100${i} instance=${i} mode=prod args=--alpha,two words$`));
    }
    // `instances` shrinks: the copies the file no longer has are removed with their processes
    writeFileSync(join(tmp, 'one.json'), JSON.stringify({ apps: [{ name: 'pm2-web', script: join(FIX, 'app.js'), instances: 1, autorestart: false }] }));
    await ex.applyFile(join(tmp, 'one.json'));
    expect(ex.list().map((b) => b.name).sort()).toEqual(['pm2-once', 'pm2-web-0']);
    // no `instances` at all: a single bot of the group's name replaces the group
    writeFileSync(join(tmp, 'one.json'), JSON.stringify({ apps: [{ name: 'pm2-web', script: join(FIX, 'app.js'), autorestart: false }] }));
    await ex.applyFile(join(tmp, 'one.json'));
    expect(ex.list().map((b) => b.name).sort()).toEqual(['pm2-once', 'pm2-web']);
    expect(ex.resolve(['pm2-*'])).toEqual(['pm2-once', 'pm2-web']);
    for (const b of ex.list()) await ex.remove(b.name);
  });

  it('max_restarts counts only runs shorter than min_uptime', async () => {
    const file = join(tmp, 'crash.json');
    const script = join(ROOT, 'bots', 'crasher.py');
    writeFileSync(file, JSON.stringify({ apps: [
      { name: 'quick', script, env: { LIFETIME: '0.05' }, max_restarts: 2, min_uptime: 1000, deployment: { type: 'CUSTOM_CONTAINER', isolation: 'minimal' } },
      { name: 'steady', script, env: { LIFETIME: '0.4' }, max_restarts: 1, min_uptime: 200, deployment: { type: 'CUSTOM_CONTAINER', isolation: 'minimal' } },
    ] }));
    await ex.applyFile(file);
    // quick: every run is unstable, so after 2 restarts it stays down
    await until(async () => (await ex.status('quick')).status === 'errored', 20_000, 100);
    expect((await ex.status('quick')).restarts).toBe(2);
    // steady: its runs outlast min_uptime, so max_restarts: 1 never stops it
    await until(async () => (await ex.status('steady')).restarts >= 3, 20_000, 100);
    expect(['running', 'restarting']).toContain((await ex.status('steady')).status);
    await ex.remove('quick');
    await ex.remove('steady');
  });
});
