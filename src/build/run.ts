// RUN: the command in a codex32 container on the step's image (standard isolation), its output streamed, its changes kept.
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import type { OciImage } from '../images/catalog.js';
import type { NetworkMode } from '../config/schema.js';
import { commandOf, envOf, type StageState } from './steps.js';
import type { Step } from './parse.js';

export interface RunInput {
  engine: ContainerEngine;
  step: Step;
  state: StageState;
  image: OciImage | undefined;
  network?: NetworkMode;
  /** docker's "Running in ID", the command's output, "Removing intermediate container ID" */
  output(text: string): void;
  /** make the step's image from the container's upper dir, while the container still exists */
  keep(upper: string): Promise<OciImage>;
}

/** Run the step's command to its end; a non-zero exit fails the build with docker's message. */
export async function runStep(input: RunInput): Promise<OciImage> {
  const { engine, step, state } = input;
  if (!input.image || !input.image.doc.layers.length)
    throw new EngineError('INVALID_CONFIG', `Dockerfile line ${step.line}: RUN needs an image with files to run in; FROM scratch has none. COPY a static binary in and use it as ENTRYPOINT instead.`);
  const argv = commandOf(step, state.config);
  // RUN sees the stage's ARGs as environment, under its ENV (docker's order)
  const env = { ...state.args, ...envOf(state.config) };
  const c = state.config;
  const container = await engine.create({
    image: input.image.id,
    entrypoint: [],
    command: argv,
    env,
    ...(c.WorkingDir ? { workdir: c.WorkingDir } : {}),
    isolation: 'standard',
    ...(input.network ? { network: input.network } : {}),
    labels: { 'codex32.build': 'step' },
  });
  const id = container.id;
  input.output(` ---> Running in ${id.slice(0, 12)}\n`);
  try {
    await engine.start(id);
    for await (const rec of engine.logs(id, { follow: true })) input.output(rec.data.toString('utf8') + (rec.full ? '\n' : ''));
    const code = await engine.wait(id);
    if (code !== 0) throw new EngineError('BUILD_FAILED', `The command '${argv.join(' ')}' returned a non-zero code: ${code}`);
    return await input.keep(engine.paths(id).upper);
  } finally {
    input.output(`Removing intermediate container ${id.slice(0, 12)}\n`);
    await engine.remove(id, { force: true }).catch(() => undefined);
  }
}
