// exec and attach: a command in a running container, and a terminal to its own. A group of their own:
// exec is the most frequent short command, and the copy code (tar) is no part of its start.
import type { Command } from 'commander';
import { parseEnvPair } from '../../config/parse.js';
import { EngineError } from '../../errors.js';
import { action, engineFor } from '../context.js';
import { requireTerminal, stayAttached } from '../terminal.js';

/** Register exec and attach. */
export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('run a command inside a running container')
    .option('-e, --env <K=V>', 'set an environment variable (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <name|uid[:group|gid]>', "the user, resolved against the container's /etc/passwd and /etc/group")
    .option('-i, --interactive', 'the command reads our stdin (otherwise /dev/null)')
    .option('-t, --tty', 'give the command a terminal of its own (exec -it: a shell)')
    .option('-d, --detach', 'start the command and return: it runs on in the background, its output discarded')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .action(action(async (ref: string, command: string[], o: { env?: string[]; workdir?: string; user?: string; interactive?: boolean; tty?: boolean; detach?: boolean }, cmd: Command) => {
      const env = Object.fromEntries((o.env ?? []).map((e) => parseEnvPair(e)));
      if (o.detach) {
        // docker's exec -d: nothing of this terminal reaches a command that runs on without it
        if (o.interactive || o.tty) throw new EngineError('INVALID_CONFIG', 'Expected `exec -d` without -i or -t: a detached command has no terminal or stdin. Leave out -d to talk to it.');
        await engineFor(cmd).exec(ref, command, { env, workdir: o.workdir, user: o.user, detach: true });
        return;
      }
      const term = { tty: !!o.tty, interactive: !!o.interactive };
      requireTerminal(term);
      // the supervisor relays the terminal; ours goes raw so every key reaches the container's
      const raw = term.tty && term.interactive;
      if (raw) process.stdin.setRawMode(true);
      try {
        const r = await engineFor(cmd).exec(ref, command, { env, workdir: o.workdir, user: o.user, stdio: 'inherit', ...term });
        process.exitCode = r.exitCode ?? 125;
      } finally {
        if (raw) process.stdin.setRawMode(false);
      }
    }));

  program
    .command('attach')
    .description('attach to a running container created with -i or -t (Ctrl-P Ctrl-Q detaches)')
    .argument('<container>')
    .action(action(async (ref: string, _o: object, cmd: Command) => {
      const engine = engineFor(cmd);
      const info = await engine.inspect(ref);
      const term = { tty: info.Config.Tty, interactive: info.Config.OpenStdin };
      requireTerminal(term);
      const code = await stayAttached(engine, ref, await engine.attach(ref), term);
      if (code !== undefined) process.exitCode = code;
    }));
}
