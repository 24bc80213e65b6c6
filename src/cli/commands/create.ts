// `codex32 create` and `codex32 run`.
import type { Command } from 'commander';
import { EngineError } from '../../errors.js';
import { action, engineFor } from '../context.js';
import { followToExit } from '../follow.js';
import { containerOptions, toConfig, type ContainerFlags } from '../options.js';
import { requireTerminal } from '../terminal.js';
import { out } from '../output.js';
import { createPulling } from '../pullpolicy.js';

/** Register create. */
export function registerCreate(program: Command): void {
  containerOptions(program.command('create').description('create a container (not started); prints its id'))
    .argument('[image]', 'a script or directory path, or an image name such as host')
    .argument('[command...]', 'command and arguments (default: inferred from the image)')
    .passThroughOptions()
    .action(
      action(async (image: string | undefined, command: string[], flags: ContainerFlags, cmd: Command) => {
        const c = await createPulling(engineFor(cmd), toConfig(flags, image, command), flags.pull);
        out(c.id + '\n');
      }),
    );
}

/** Register run: create + start, then stream output and exit with the container's code (or -d). */
export function registerRun(program: Command): void {
  containerOptions(program.command('run').description('create and start a container; stream its output and exit with its code'))
    .option('-d, --detach', 'run in the background and print the id')
    .option('--rm', 'remove the container when it exits')
    .argument('[image]', 'a script or directory path, or an image name such as host')
    .argument('[command...]', 'command and arguments')
    .passThroughOptions()
    .action(
      action(async (image: string | undefined, command: string[], flags: ContainerFlags & { detach?: boolean; rm?: boolean }, cmd: Command) => {
        const engine = engineFor(cmd);
        const attached = !flags.detach && (flags.tty || flags.interactive);
        const term = { tty: !!flags.tty, interactive: !!flags.interactive };
        if (attached) requireTerminal(term);
        const config = toConfig(flags, image, command);
        if (flags.rm && config.restart && config.restart.name !== 'no')
          throw new EngineError('INVALID_CONFIG', `Expected --rm without a restart policy (a container removed when it exits is never restarted), got \`--restart ${flags.restart}\``);
        // the engine removes it once it has exited for good, whoever looks next (there is no daemon); in
        // the foreground this run holds it until it has read the output and the exit code, and lets go at a detach
        if (flags.rm) config.autoRemove = true;
        const c = await createPulling(engine, config, flags.pull);
        if (flags.rm && !flags.detach) engine.holdRemoval(c.id, true);
        let session;
        try {
          if (attached) session = await engine.startAttached(c.id);
          else await engine.start(c.id);
        } catch (e) {
          if (flags.rm) await engine.remove(c.id, { force: true, volumes: true }).catch(() => undefined);
          throw e;
        }
        if (flags.detach) {
          out(c.id + '\n');
          return;
        }
        const code = await followToExit(engine, c.name, {
          session,
          term,
          afterClosedPipe: async () => {
            if (flags.rm) await engine.remove(c.id, { force: true, volumes: true });
          },
        });
        if (code === undefined) {
          if (flags.rm) engine.holdRemoval(c.id, false); // detached: removed when it ends
          return;
        }
        if (flags.rm) await engine.remove(c.id, { force: true, volumes: true });
        process.exitCode = code;
      }),
    );
}
