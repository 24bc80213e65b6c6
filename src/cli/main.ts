// The codex32 command line: parse, one engine call, render. Exit codes follow docker (125/126/127).
import { Command, CommanderError } from 'commander';
import { closeEngine, finishClosedPipe, settleEngine } from './session.js';
import { useLauncher } from '../runtime/launcher.js';
import { isClosedPipe, reportError } from './errors.js';
import { out } from './output.js';

type Registrar = (program: Command) => void;

/**
 * Each command group's module, loaded only when its command runs: a CLI process pays Node's start-up and
 * the code of the one command it runs (the engine for container commands; the service, the Docker API, bots
 * and YAML only for theirs), not the whole CLI's (docs/benchmarks.md).
 *
 * The CLI bundles hold one group each (scripts/bundle.mjs defines CODEX32_BUNDLE_GROUP per bundle and
 * bin/codex32 picks the bundle from argv): each entry's condition is written out so that the bundler drops
 * every other group's code from the file. The ESM build (no define, nothing set) holds them all.
 */
const GROUPS: Record<string, (() => Promise<Registrar[]>) | undefined> = {
  create: (process.env.CODEX32_BUNDLE_GROUP ?? 'create') === 'create' ? () => import('./commands/create.js').then((m) => [m.registerCreate, m.registerRun]) : undefined,
  lifecycle: (process.env.CODEX32_BUNDLE_GROUP ?? 'lifecycle') === 'lifecycle' ? () => import('./commands/lifecycle.js').then((m) => [m.registerLifecycle]) : undefined,
  control: (process.env.CODEX32_BUNDLE_GROUP ?? 'control') === 'control' ? () => import('./commands/control.js').then((m) => [m.registerControl]) : undefined,
  space: (process.env.CODEX32_BUNDLE_GROUP ?? 'space') === 'space' ? () => import('./commands/space.js').then((m) => [m.registerSpace]) : undefined,
  query: (process.env.CODEX32_BUNDLE_GROUP ?? 'query') === 'query' ? () => import('./commands/query.js').then((m) => [m.registerQuery]) : undefined,
  exec: (process.env.CODEX32_BUNDLE_GROUP ?? 'exec') === 'exec' ? () => import('./commands/exec.js').then((m) => [m.registerExec]) : undefined,
  files: (process.env.CODEX32_BUNDLE_GROUP ?? 'files') === 'files' ? () => import('./commands/files.js').then((m) => [m.registerFiles]) : undefined,
  images: (process.env.CODEX32_BUNDLE_GROUP ?? 'images') === 'images' ? () => import('./commands/images.js').then((m) => [m.registerImages]) : undefined,
  volume: (process.env.CODEX32_BUNDLE_GROUP ?? 'volume') === 'volume' ? () => import('./commands/volume.js').then((m) => [m.registerVolume]) : undefined,
  build: (process.env.CODEX32_BUNDLE_GROUP ?? 'build') === 'build' ? () => import('./commands/build.js').then((m) => [m.registerBuild]) : undefined,
  registry: (process.env.CODEX32_BUNDLE_GROUP ?? 'registry') === 'registry' ? () => import('./commands/registry.js').then((m) => [m.registerRegistry]) : undefined,
  monitor: (process.env.CODEX32_BUNDLE_GROUP ?? 'monitor') === 'monitor' ? () => import('./commands/monitor.js').then((m) => [m.registerMonitor]) : undefined,
  bot: (process.env.CODEX32_BUNDLE_GROUP ?? 'bot') === 'bot' ? () => import('./commands/bot.js').then((m) => [m.registerBot]) : undefined,
  serve: (process.env.CODEX32_BUNDLE_GROUP ?? 'serve') === 'serve' ? () => import('./commands/serve.js').then((m) => [m.registerServe, m.registerStartup]) : undefined,
  system: (process.env.CODEX32_BUNDLE_GROUP ?? 'system') === 'system' ? () => import('./commands/system.js').then((m) => [m.registerSystem]) : undefined,
  network: (process.env.CODEX32_BUNDLE_GROUP ?? 'network') === 'network' ? () => import('./commands/network.js').then((m) => [m.registerNetwork]) : undefined,
};

/** Which group registers each top-level command name (aliases included); a test checks it against the groups. */
export const COMMAND_GROUP: Record<string, keyof typeof GROUPS> = {
  create: 'create', run: 'create',
  start: 'lifecycle', stop: 'lifecycle', restart: 'lifecycle', kill: 'lifecycle', rm: 'lifecycle', remove: 'lifecycle', wait: 'lifecycle',
  top: 'control', rename: 'control', pause: 'control', unpause: 'control', update: 'control',
  diff: 'space', history: 'space', container: 'space',
  ps: 'query', list: 'query', ls: 'query', inspect: 'query', port: 'query', logs: 'query', info: 'query', prune: 'query',
  exec: 'exec', attach: 'exec', cp: 'files', export: 'files',
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
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `codex32: ${s}` : s) });
  const name = commandName(argv);
  const onlyVersion = name === undefined && argv.slice(2).some((a) => a === '-V' || a === '--version');
  const group = name === undefined ? undefined : COMMAND_GROUP[name];
  const wanted = onlyVersion ? [] : group ? [group] : (Object.keys(GROUPS) as (keyof typeof GROUPS)[]);
  const loaders = wanted.map((g) => GROUPS[g]);
  // a bundle without the group argv names: bin/codex32 and this file disagree on the command's group
  if (loaders.some((l) => !l)) throw new Error(`this CLI bundle lacks the command group for ${name ?? 'help'}: rebuild with \`make build\``);
  for (const registrars of await Promise.all(loaders.map((l) => l!())))
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
  // stdout and stderr get no listener of their own: creating the streams costs 1-3 ms each and most commands
  // write through out() or not at all. An error writing either reaches uncaughtException below (a closed
  // pipe ends the command quietly).
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
