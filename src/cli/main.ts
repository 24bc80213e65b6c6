// The codex32 command line: parse, one engine call, render. Exit codes follow docker (125/126/127).
import { Command, CommanderError } from 'commander';
import { registerCreate, registerRun } from './commands/create.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerQuery } from './commands/query.js';
import { registerFiles } from './commands/files.js';
import { registerImages } from './commands/images.js';
import { registerRegistry } from './commands/registry.js';
import { registerMonitor } from './commands/monitor.js';
import { registerBot } from './commands/bot.js';
import { registerServe, registerStartup } from './commands/serve.js';
import { registerSystem } from './commands/system.js';
import { closeEngine, finishClosedPipe, settleEngine } from './context.js';
import { useLauncher } from '../runtime/launcher.js';
import { isClosedPipe, reportError } from './errors.js';

/** Build the program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('codex32')
    .description('daemonless containers for bots: isolated, limited, logged, supervised')
    .version('0.1.0')
    .option('--storage <dir>', 'storage directory (default: $CONTAINER_STORAGE_DIR or /var/lib/codex32)')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `codex32: ${s}` : s) });
  registerCreate(program);
  registerRun(program);
  registerLifecycle(program);
  registerQuery(program);
  registerFiles(program);
  registerImages(program);
  registerRegistry(program);
  registerMonitor(program);
  registerBot(program);
  registerServe(program);
  registerStartup(program);
  registerSystem(program);
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
    await buildProgram().parseAsync(argv);
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
