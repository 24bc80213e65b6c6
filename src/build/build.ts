// `codex32 build`: a Dockerfile's stages run step by step into an OCI image, each step cached, progress as events.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { NetworkMode } from '../config/schema.js';
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import type { OciImage } from '../images/catalog.js';
import { deriveImage, type RuntimeConfig } from '../images/derive.js';
import { displayRepo, formatReference, parseReference, splitTagged } from '../images/reference.js';
import { ImageService } from '../images/service.js';
import { findCached, stepKey } from './cache.js';
import { contextRoot } from './context.js';
import { filesStep } from './files.js';
import { expandVars, parseDockerfile, type Step } from './parse.js';
import { runStep } from './run.js';
import { applyMetadata, createdBy, DEFAULT_PATH, type StageState } from './steps.js';

export interface BuildOptions {
  /** the context directory */
  context: string;
  /** the Dockerfile: absolute, or relative to the context (default Dockerfile, else Containerfile) */
  dockerfile?: string;
  tags?: string[];
  target?: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  noCache?: boolean;
  pull?: boolean;
  network?: NetworkMode;
}

/** What a build reports as it goes, in order; a front end renders each as docker's classic builder prints it. */
export type BuildEvent =
  | { type: 'step'; n: number; total: number; text: string }
  | { type: 'output'; text: string }
  | { type: 'cache' }
  | { type: 'image'; id: string }
  | { type: 'warning'; text: string }
  | { type: 'built'; id: string }
  | { type: 'tagged'; name: string };

/** The Dockerfile of a build: -f as given, else Dockerfile or Containerfile in the context. */
function dockerfileText(o: BuildOptions): string {
  const candidates = o.dockerfile ? [isAbsolute(o.dockerfile) ? o.dockerfile : join(o.context, o.dockerfile)] : [join(o.context, 'Dockerfile'), join(o.context, 'Containerfile')];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new EngineError('INVALID_CONFIG', `No ${o.dockerfile ?? 'Dockerfile or Containerfile'} found${o.dockerfile ? '' : ` in ${o.context}`}. Give one with -f FILE.`);
  return readFileSync(file, 'utf8');
}

/** How docker prints a step: its keyword, flags and arguments as written. */
function stepText(s: Step): string {
  const flags = Object.entries(s.flags).map(([k, v]) => `--${k}=${v} `).join('');
  return `${s.keyword} ${flags}${s.args}`.trimEnd();
}

/** Run a build; emit reports progress. Returns the built image, tagged with every -t name. */
export async function build(engine: ContainerEngine, o: BuildOptions, emit: (e: BuildEvent) => void): Promise<OciImage> {
  const context = resolve(o.context);
  if (!existsSync(context)) throw new EngineError('INVALID_CONFIG', `The build context ${o.context} does not exist. Give a directory, e.g. \`codex32 build .\``);
  const tags = (o.tags ?? []).map((t) => {
    const ref = parseReference(t);
    if (ref.digest) throw new EngineError('INVALID_CONFIG', `Expected -t to be a name such as team/bot:1, got \`${t}\``);
    return formatReference(ref);
  });
  const parsed = parseDockerfile(dockerfileText({ ...o, context }), o.target);
  // --label is one more LABEL step at the end of the last stage, as docker's classic builder adds it
  const labels = Object.entries(o.labels ?? {});
  if (labels.length) {
    const last = parsed.stages[parsed.stages.length - 1];
    last.steps.push({ line: 0, keyword: 'LABEL', args: labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' '), flags: {}, pairs: labels });
  }
  const svc = new ImageService(engine.store, engine.settings.storageDir);
  const buildArgs = o.buildArgs ?? {};
  const used = new Set<string>();
  const globals: Record<string, string> = {};
  for (const [k, v] of parsed.globalArgs) {
    const value = buildArgs[k] ?? (v === undefined ? undefined : expandVars(v, globals));
    if (value !== undefined) globals[k] = value;
    used.add(k);
  }
  const total = parsed.stages.reduce((n, s) => n + 1 + s.steps.length, 0);
  const root = contextRoot(context);
  const done: Array<OciImage | undefined> = [];
  let n = 0;
  let image: OciImage | undefined;

  const resolveImage = async (ref: string): Promise<OciImage | undefined> => {
    const stage = parsed.stages.findIndex((s) => s.name === ref.toLowerCase());
    if (stage >= 0 && stage < done.length) return done[stage];
    if (/^\d+$/.test(ref) && Number(ref) < done.length) return done[Number(ref)];
    if (ref === 'scratch') return undefined;
    const have = o.pull ? undefined : svc.catalog.find(ref);
    if (have) return have;
    // `codex32 import` and the built-in `host` make unpacked roots, not images of layers: a base must be
    // one, and pulling the same name from a registry would build on something else
    const root = ref === 'host' ? 'builtin' : engine.store.getImage(ref)?.kind;
    if (root)
      throw new EngineError('INVALID_CONFIG', `Cannot build FROM ${ref}: it is ${root === 'builtin' ? 'the built-in host image' : 'an unpacked root made by `codex32 import`'}, not an image of layers. Import the archive with \`docker import\` through \`codex32 system service\` (an image of one layer), or build FROM a registry image.`, { context: { image: ref } });
    emit({ type: 'output', text: `Pulling ${ref}\n` });
    return svc.pull(ref);
  };

  for (const [si, stage] of parsed.stages.entries()) {
    emit({ type: 'step', n: ++n, total, text: stepText(stage.from) });
    image = await resolveImage(expandVars(stage.image, globals));
    if (image) emit({ type: 'image', id: image.id });
    const state: StageState = { config: structuredClone(image?.doc.config.config ?? {}) as RuntimeConfig, args: {}, cmdSet: false };
    // docker's builder gives every stage a PATH when its image has none
    if (!(state.config.Env ?? []).some((kv) => kv.startsWith('PATH='))) state.config.Env = [...(state.config.Env ?? []), `PATH=${DEFAULT_PATH}`];
    for (const step of stage.steps) {
      emit({ type: 'step', n: ++n, total, text: stepText(step) });
      if (step.keyword === 'ARG') {
        for (const [k] of step.pairs ?? []) used.add(k);
        // a global ARG named again in a stage takes the global value as its default
        for (const [k, v] of step.pairs ?? []) if (v === undefined && globals[k] !== undefined && buildArgs[k] === undefined) state.args[k] = globals[k];
      }
      const lookup = (by: string, inputs: string) => {
        if (o.noCache) return undefined;
        const hit = findCached(svc, stepKey(image?.id, by, inputs));
        if (hit) emit({ type: 'cache' });
        return hit;
      };
      const derive = (by: string, inputs: string, layer?: { dir: string; offset: number }) =>
        deriveImage(svc, { base: image, config: state.config, history: { created_by: by }, layer, tags: [], build: { key: stepKey(image?.id, by, inputs) }, label: `step ${n}` });
      if (step.keyword === 'RUN') {
        const by = createdBy(step, state);
        image = lookup(by, '') ?? (await runStep({ engine, step, state, image, network: o.network, output: (text) => emit({ type: 'output', text }), keep: (upper) => derive(by, '', { dir: upper, offset: 0 }) }));
      } else if (step.keyword === 'COPY' || step.keyword === 'ADD' || step.keyword === 'WORKDIR') {
        if (step.keyword === 'WORKDIR') applyMetadata(step, state, buildArgs);
        const made = await filesStep({ svc, step, state, image, context: root, fromImage: resolveImage, lookup });
        if ('cached' in made) image = made.cached;
        else if ('staging' in made) {
          try {
            image = await derive(made.createdBy, '', { dir: made.staging, offset: 0 });
          } finally {
            rmSync(made.staging, { recursive: true, force: true });
          }
        } else {
          const by = createdBy(step, state);
          image = lookup(by, '') ?? (await derive(by, ''));
        }
      } else {
        applyMetadata(step, state, buildArgs);
        const by = createdBy(step, state);
        image = lookup(by, JSON.stringify(state.config)) ?? (await derive(by, JSON.stringify(state.config)));
      }
      state.config = structuredClone(image.doc.config.config ?? {}) as RuntimeConfig;
      emit({ type: 'image', id: image.id });
    }
    done[si] = image;
  }
  if (!image) throw new EngineError('INVALID_CONFIG', 'The build ends on FROM scratch with no step: there is no image to make. Add a COPY, or a LABEL, after it.');
  const unused = Object.keys(buildArgs).filter((k) => !used.has(k));
  if (unused.length) emit({ type: 'warning', text: `[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n` });
  emit({ type: 'built', id: image.id });
  for (const t of tags) {
    svc.catalog.tag(t, image.id);
    const { repo, tag } = splitTagged(t);
    emit({ type: 'tagged', name: `${displayRepo(repo)}:${tag}` });
  }
  return svc.get(image.id);
}

/** docker's classic builder's text for an event (what `docker build` prints, and /build streams). */
export function renderEvent(e: BuildEvent): string {
  switch (e.type) {
    case 'step': return `Step ${e.n}/${e.total} : ${e.text}\n`;
    case 'output': return e.text;
    case 'cache': return ' ---> Using cache\n';
    case 'image': return ` ---> ${e.id.slice(7, 19)}\n`;
    case 'warning': return e.text;
    case 'built': return `Successfully built ${e.id.slice(7, 19)}\n`;
    case 'tagged': return `Successfully tagged ${e.name}\n`;
  }
}
