// The codex32 command line: parse, one engine call, render. Exit codes follow docker (125/126/127).
import { Command, CommanderError } from 'commander';
import { registerCreate, registerRun } from './commands/create.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerQuery } from './commands/query.js';
import { registerFiles } from './commands/files.js';
import { registerImages } from './commands/images.js';
import { registerMonitor } from './commands/monitor.js';
import { registerBot } from './commands/bot.js';
import { registerServe } from './commands/serve.js';
import { closeEngine } from './context.js';

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
  registerMonitor(program);
  registerBot(program);
  registerServe(program);
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** Run the CLI with argv; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; a usage error is the engine refusing: 125
      return err.exitCode === 0 ? 0 : 125;
    }
    throw err;
  } finally {
    closeEngine();
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
