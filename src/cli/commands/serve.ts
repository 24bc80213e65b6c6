// codex32 serve: the bot runner service (HTTP API and dashboard).
import { useLauncher } from '../../runtime/launcher.js';
import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import { parsePositiveInt } from '../../config/parse.js';
import { action, engineFor } from '../context.js';
import { optionalImport } from '../../optional.js';
import { out } from '../output.js';

/** Register serve. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the bot runner service: HTTP API, events stream and dashboard')
    .option('--host <host>', 'address to bind (default 127.0.0.1; any other needs a token)')
    .option('--port <n>', 'port (default 8032)')
    .option('--token <token>', 'bearer token for mutating calls (default: $CODEX32_TOKEN, else a random one printed at start)')
    .option('--apply <file>', 'apply a bot file at start (e.g. bots/ecosystem.yaml)')
    .option('--stop-on-exit', 'stop running containers when the service stops (default: they keep running)')
    .option('--docker-socket <path>', 'also serve the Docker Engine API on this unix socket (as `codex32 system service`)')
    .action(action(async (o: { host?: string; port?: string; token?: string; apply?: string; stopOnExit?: boolean; dockerSocket?: string }, cmd: Command) => {
      useLauncher(true); // long-lived: each start and restart goes through the fork server
      const engine = engineFor(cmd);
      if (o.dockerSocket) {
        const { serveDockerApi } = await import('../../dockerapi/server.js');
        const socket = o.dockerSocket;
        await serveDockerApi(engine, socket);
        process.once('exit', () => rmSync(socket, { force: true })); // the next start would replace it anyway
        out(`codex32 Docker API listening on unix://${socket}\n`);
      }
      const { serve } = await optionalImport('fastify', '`codex32 serve`', () => import('../../service/server.js'));
      if (o.apply) {
        const { AdaptiveExecutor } = await import('../../executor/adaptive.js');
        const r = await new AdaptiveExecutor(engine).applyFile(o.apply);
        for (const f of r.failed) process.stderr.write(`codex32: bot ${f.name}: ${f.error}\n`);
      }
      await serve({
        engine,
        host: o.host ?? engine.settings.host,
        port: o.port !== undefined ? (o.port === '0' ? 0 : parsePositiveInt('`--port`', o.port, 65535)) : engine.settings.port,
        token: o.token ?? engine.settings.token,
        stopOnExit: o.stopOnExit,
        logger: process.env.NODE_ENV === 'production',
        onListen: (url, token) => {
          out(`codex32 bot runner listening on ${url}\n  dashboard: ${url}/#token=${token}\n  API token: ${token}  (send Authorization: Bearer <token> on every API call)\n`);
        },
      });
      await new Promise(() => undefined); // serve until a signal ends the process
    }));
}

/** Register startup: the boot unit. */
export function registerStartup(program: Command): void {
  program
    .command('startup')
    .description('write and enable a systemd unit that brings containers and bots back at boot (printed where systemd is absent)')
    .option('--serve', 'run the bot runner service at boot (it brings everything back and keeps reconciling)')
    .option('--host <host>', 'with --serve: the address the service binds')
    .option('--port <n>', 'with --serve: the port the service listens on')
    .option('--print', 'only print the unit')
    .action(action(async (o: { serve?: boolean; print?: boolean; host?: string; port?: string }, cmd: Command) => {
      const { hasSystemd, installStartup, startupUnit, UNIT_PATH } = await import('../../executor/startup.js');
      const port = o.port === undefined ? undefined : parsePositiveInt('`--port`', o.port, 65535);
      const opts = { bin: process.argv[1], storageDir: engineFor(cmd).settings.storageDir, serve: o.serve, host: o.host, port };
      const unit = startupUnit(opts); // refuses a bad --host or --port before anything is installed
      if (o.print) return void out(unit);
      if (!hasSystemd()) {
        out(unit);
        process.stderr.write(`codex32: systemd is not running on this host: nothing was installed. Save the unit above as ${UNIT_PATH} where systemd runs, or run \`codex32 start --all && codex32 bot restore\` from your init system at boot.\n`);
        return;
      }
      for (const c of await installStartup(opts)) out(`ran: ${c}\n`);
      out(`wrote ${UNIT_PATH}: containers and bots come back at boot\n`);
    }));
}
