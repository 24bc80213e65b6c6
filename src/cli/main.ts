// The codex32 command line: parse, one engine call, render. Exit codes follow docker (125/126/127).
import { Command, CommanderError } from 'commander';
import { closeEngine, finishClosedPipe, settleEngine } from './session.js';
import { useLauncher } from '../runtime/launcher.js';
import { isClosedPipe, reportError } from './errors.js';

type Registrar = (program: Command) => void;

/**
 * Each command group's module, loaded only when its command runs: a CLI process pays Node's start-up and
 * the code of the one command it runs (the engine for container commands; the service, the Docker API, bots
 * and YAML only for theirs), not the whole CLI's (docs/benchmarks.md).
 */
const GROUPS: Record<string, () => Promise<Registrar[]>> = {
  create: () => import('./commands/create.js').then((m) => [m.registerCreate, m.registerRun]),
  lifecycle: () => import('./commands/lifecycle.js').then((m) => [m.registerLifecycle]),
  control: () => import('./commands/control.js').then((m) => [m.registerControl]),
  space: () => import('./commands/space.js').then((m) => [m.registerSpace]),
  query: () => import('./commands/query.js').then((m) => [m.registerQuery]),
  files: () => import('./commands/files.js').then((m) => [m.registerFiles]),
  images: () => import('./commands/images.js').then((m) => [m.registerImages]),
  volume: () => import('./commands/volume.js').then((m) => [m.registerVolume]),
  build: () => import('./commands/build.js').then((m) => [m.registerBuild]),
  registry: () => import('./commands/registry.js').then((m) => [m.registerRegistry]),
  monitor: () => import('./commands/monitor.js').then((m) => [m.registerMonitor]),
  bot: () => import('./commands/bot.js').then((m) => [m.registerBot]),
  serve: () => import('./commands/serve.js').then((m) => [m.registerServe, m.registerStartup]),
  system: () => import('./commands/system.js').then((m) => [m.registerSystem]),
  network: () => import('./commands/network.js').then((m) => [m.registerNetwork]),
};

/** Which group registers each top-level command name (aliases included); a test checks it against the groups. */
export const COMMAND_GROUP: Record<string, keyof typeof GROUPS> = {
  create: 'create', run: 'create',
  start: 'lifecycle', stop: 'lifecycle', restart: 'lifecycle', kill: 'lifecycle', rm: 'lifecycle', remove: 'lifecycle', wait: 'lifecycle',
  top: 'control', rename: 'control', pause: 'control', unpause: 'control', update: 'control',
  diff: 'space', history: 'space', container: 'space',
  ps: 'query', list: 'query', ls: 'query', inspect: 'query', port: 'query', logs: 'query', info: 'query', prune: 'query',
  exec: 'files', attach: 'files', cp: 'files', export: 'files',
  import: 'images', images: 'images', load: 'images', save: 'images', tag: 'images', rmi: 'images', commit: 'images', image: 'images',
  volume: 'volume',
  build: 'build',
  pull: 'registry', push: 'registry', login: 'registry', logout: 'registry',
  stats: 'monitor', events: 'monitor',
  bot: 'bot',
  serve: 'serve', startup: 'serve',
  system: 'system',
  network: 'network',
};

/** The command name in argv (after the global --storage), or undefined for none (help, --version). */
function commandName(argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--storage') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * Build the program with the commands argv needs registered: the one command's group, or every group for
 * help and for a name that is not a command (so commander's usage error and suggestions stay as they were).
 */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('codex32')
    .description('daemonless containers for bots: isolated, limited, logged, supervised')
    .version('0.1.0')
    .option('--storage <dir>', 'storage directory (default: $CONTAINER_STORAGE_DIR or /var/lib/codex32)')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `codex32: ${s}` : s) });
  const name = commandName(argv);
  const onlyVersion = name === undefined && argv.slice(2).some((a) => a === '-V' || a === '--version');
  const group = name === undefined ? undefined : COMMAND_GROUP[name];
  const wanted = onlyVersion ? [] : group ? [group] : (Object.keys(GROUPS) as (keyof typeof GROUPS)[]);
  for (const registrars of await Promise.all(wanted.map((g) => GROUPS[g]!())))
    for (const register of registrars) register(program);
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** End the process now: a closed pipe quietly with 0 (once the command's closed-pipe work is done), anything else reported once without a stack. */
function fatal(err: unknown): void {
  if (isClosedPipe(err)) {
    void finishClosedPipe().then(() => exitNow(0));
    return;
  }
  exitNow(reportError(err));
}

/** Close the engine and exit with code. */
function exitNow(code: number): never {
  try {
    closeEngine();
  } catch {
    /* exiting anyway */
  }
  process.exit(code);
}

/** Run the CLI with argv; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  // the reader of our output went away (`| head -1`): the command has nothing left to do
  process.stdout.on('error', fatal);
  process.stderr.on('error', (err) => (isClosedPipe(err) ? fatal(err) : undefined));
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  // a one-shot command starts at most a container or two: spawning the fork server would cost more than it saves
  // (serve and system service, which live on, turn it back on)
  useLauncher(false);
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; a usage error is the engine refusing: 125
      return err.exitCode === 0 ? 0 : 125;
    }
    if (isClosedPipe(err)) return 0;
    return reportError(err);
  } finally {
    try {
      await settleEngine();
      closeEngine();
    } catch (err) {
      process.exitCode = reportError(err);
    }
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
