// COPY, ADD and WORKDIR: the files a step writes, gathered in a new layer's directory.
import { runFile } from '../runtime/command.js';
import { closeSync, lstatSync, openSync, readSync } from 'node:fs';
import { join, posix } from 'node:path';
import { EngineError } from '../errors.js';
import type { OciImage } from '../images/catalog.js';
import { resolveImageUser } from '../images/config.js';
import type { ImageService } from '../images/service.js';
import { copyEntries, copyInto, hashEntries, layerPath, resolveInside, stageRoot, type CopyEntry, type SourceRoot } from './context.js';
import { expandVars, type Step } from './parse.js';
import { imageLayers, makeParents, stagingDir, withImageRoot } from './rootfs.js';
import { varsOf, type StageState } from './steps.js';

/** What a files step gives back: an image the cache already had, or a directory to add as a layer. */
export type FilesOutcome = { cached: OciImage } | { staging: string; createdBy: string } | { none: true };

export interface FilesInput {
  svc: ImageService;
  step: Step;
  state: StageState;
  image: OciImage | undefined;
  context: SourceRoot;
  /** the image COPY --from names: an earlier stage (by name or number) or any image */
  fromImage(name: string): Promise<OciImage | undefined>;
  /** look the step up in the cache by its history text and the digest of its inputs */
  lookup(createdBy: string, inputs: string): OciImage | undefined;
}

/** True when file starts like a tar archive, compressed or not (ADD unpacks those). */
function isArchive(file: string): boolean {
  const head = Buffer.alloc(512);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  const b = head.subarray(0, n);
  return (b[0] === 0x1f && b[1] === 0x8b) || b.subarray(0, 3).toString('latin1') === 'BZh' || b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])) || b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])) || (n >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar');
}

/** The owner COPY --chown names, resolved against the image's own /etc/passwd and /etc/group. */
function ownerOf(step: Step, state: StageState, layers: string[]): { uid: number; gid: number } {
  const chown = step.flags.chown;
  if (!chown) return { uid: 0, gid: 0 };
  return resolveImageUser(expandVars(chown, varsOf(state)), layers);
}

/** COPY or ADD: resolve the sources, hash them, and unless the cache has the step, write its layer. */
async function copyStep(input: FilesInput, imageRoot: string, source: SourceRoot): Promise<FilesOutcome> {
  const { step, state } = input;
  const vars = varsOf(state);
  const list = (step.json ?? step.args.split(/\s+/).filter(Boolean)).map((w) => expandVars(w, vars));
  if (list.length < 2) throw new EngineError('INVALID_CONFIG', `Dockerfile line ${step.line}: ${step.keyword} needs a source and a destination, got \`${step.args}\``);
  const sources = list.slice(0, -1);
  let dest = list[list.length - 1];
  if (step.keyword === 'ADD') {
    const url = sources.find((s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s));
    if (url) throw new EngineError('INVALID_CONFIG', `Dockerfile line ${step.line}: ADD of a URL (${url}) is not supported by codex32 build. Download it in a RUN step, or put the file in the build context.`);
  }
  if (!dest.startsWith('/')) {
    const joined = posix.join(state.config.WorkingDir || '/', dest);
    dest = joined + ((dest.endsWith('/') || dest === '.') && !joined.endsWith('/') ? '/' : '');
  }
  // the destination's directories as the image has them: through its symbolic links, never out of its root
  const intoDir = dest.endsWith('/');
  const named = posix.normalize(dest).replace(/^\/+|\/+$/g, '');
  const destRel = intoDir ? resolveInside(imageRoot, named, true) : posix.join(resolveInside(imageRoot, posix.dirname(named), true), posix.basename(named)).replace(/^\.\/?/, '');
  const destIsDir = !!destRel && lstatSync(join(imageRoot, resolveInside(imageRoot, destRel, true)), { throwIfNoEntry: false })?.isDirectory() === true;
  const entries = copyEntries(source, sources, '/' + destRel + (intoDir || destIsDir ? '/' : ''), destIsDir, step.keyword);
  const owner = ownerOf(step, state, imageLayers(input.svc, input.image));
  const archives = new Set(step.keyword === 'ADD' ? entries.filter((e) => e.top && e.st.isFile() && isArchive(e.src)).map((e) => e.src) : []);
  const hash = hashEntries(entries, JSON.stringify([owner, [...archives]]));
  const single = entries.length === 1 && entries[0].st.isFile();
  const createdBy = `/bin/sh -c #(nop) ${step.keyword} ${single ? 'file' : 'dir'}:${hash} in ${dest} `;
  const cached = input.lookup(createdBy, ''); // the digest is in createdBy, as docker records it
  if (cached) return { cached };
  const staging = stagingDir(input.svc);
  const parentOf = (e: CopyEntry) => (archives.has(e.src) ? (intoDir || destIsDir ? posix.dirname(e.dest) : e.dest) : posix.dirname(e.dest));
  for (const e of entries) makeParents(staging, imageRoot, parentOf(e) === '.' ? '' : parentOf(e), owner);
  copyInto(staging, entries.filter((e) => !archives.has(e.src)), owner);
  for (const a of archives) {
    const e = entries.find((x) => x.src === a)!;
    await runFile('tar', ['-xf', a, '-C', layerPath(staging, parentOf(e)), '--numeric-owner', '--same-owner', '--same-permissions', '--no-overwrite-dir']).catch((cause: Error & { stderr?: string }) => {
      throw new EngineError('INVALID_CONFIG', `Dockerfile line ${step.line}: cannot unpack ${posix.basename(a)}: ${(cause.stderr ?? cause.message).trim()}`, { cause });
    });
  }
  return { staging, createdBy };
}

/** WORKDIR: a layer that makes the directory when the image lacks it; nothing otherwise. */
async function workdirStep(input: FilesInput, imageRoot: string): Promise<FilesOutcome> {
  // WORKDIR's setting is applied first: the image's WorkingDir is the directory to make
  const dir = (input.state.config.WorkingDir ?? '').replace(/^\/+/, '');
  if (!dir || lstatSync(join(imageRoot, dir), { throwIfNoEntry: false })?.isDirectory()) return { none: true };
  const createdBy = `/bin/sh -c mkdir -p /${dir}`;
  const cached = input.lookup(createdBy, '');
  if (cached) return { cached };
  const staging = stagingDir(input.svc);
  makeParents(staging, imageRoot, dir, { uid: 0, gid: 0 });
  return { staging, createdBy };
}

/** Run a COPY, ADD or WORKDIR step with the image's root (and COPY --from's source) readable. */
export async function filesStep(input: FilesInput): Promise<FilesOutcome> {
  return withImageRoot(input.svc, input.image, async (imageRoot) => {
    if (input.step.keyword === 'WORKDIR') return workdirStep(input, imageRoot);
    const from = input.step.flags.from;
    if (from === undefined) return copyStep(input, imageRoot, input.context);
    const name = expandVars(from, varsOf(input.state));
    const image = await input.fromImage(name);
    return withImageRoot(input.svc, image, (root) => copyStep(input, imageRoot, stageRoot(root, name)));
  });
}
