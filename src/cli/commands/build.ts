// build: an image from a Dockerfile, progress printed as docker's classic builder prints it.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { NetworkMode } from '../../config/schema.js';
import { EngineError } from '../../errors.js';
import { action, engineFor } from '../context.js';
import { out } from '../output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** K=V options as a record; a bare K takes its value from this process's environment, as docker's --build-arg does. */
function pairs(list: string[] | undefined, flag: string, fromEnv: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    const k = i < 0 ? item : item.slice(0, i);
    if (!k) throw new EngineError('INVALID_CONFIG', `Expected ${flag} KEY=VALUE, got \`${item}\``);
    if (i >= 0) out[k] = item.slice(i + 1);
    else if (fromEnv && process.env[k] !== undefined) out[k] = process.env[k]!;
    else if (!fromEnv) out[k] = '';
  }
  return out;
}

interface BuildFlags {
  tag?: string[];
  file?: string;
  target?: string;
  buildArg?: string[];
  label?: string[];
  cache?: boolean;
  pull?: boolean;
  quiet?: boolean;
  network?: string;
}

/** Register `build`. */
export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build an image from a Dockerfile (or Containerfile) and a context directory')
    .argument('<context>', 'the build context directory')
    .option('-t, --tag <name>', 'name the image, e.g. team/bot:1 (repeatable)', collect)
    .option('-f, --file <file>', 'the Dockerfile (default: CONTEXT/Dockerfile, else CONTEXT/Containerfile)')
    .option('--target <stage>', 'build up to this stage of a multi-stage Dockerfile')
    .option('--build-arg <K=V>', 'a value for an ARG (repeatable)', collect)
    .option('--label <K=V>', 'a label on the image (repeatable)', collect)
    .option('--no-cache', 'run every step, using no cached one')
    .option('--pull', 'pull every FROM image even when it is stored')
    .option('--network <mode>', 'network of RUN steps: private (default), host or none')
    .option('-q, --quiet', 'print only the image id')
    .action(action(async (context: string, o: BuildFlags, cmd: Command) => {
      if (o.network && !['private', 'host', 'none'].includes(o.network))
        throw new EngineError('INVALID_CONFIG', `Expected --network to be private, host or none, got \`${o.network}\``);
      const engine = engineFor(cmd);
      const { renderEvent } = await import('../../build/build.js');
      const image = await engine.build({
        context: resolve(context),
        dockerfile: o.file === undefined ? undefined : resolve(o.file),
        tags: o.tag,
        target: o.target,
        buildArgs: pairs(o.buildArg, '--build-arg', true),
        labels: pairs(o.label, '--label', false),
        noCache: o.cache === false,
        pull: o.pull,
        network: o.network as NetworkMode | undefined,
      }, (e) => {
        if (!o.quiet) out(renderEvent(e));
      });
      if (o.quiet) out(`${image.id}\n`);
    }));
}
