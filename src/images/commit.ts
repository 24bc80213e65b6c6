// `commit`: a container's overlay upper dir as a new layer on its image, its settings as the config.
import { EngineError } from '../errors.js';
import type { OciImage } from './catalog.js';
import { deriveImage } from './derive.js';
import type { ImageService } from './service.js';
import { formatReference, parseReference } from './reference.js';

export interface CommitInput {
  upper: string;
  /** owner offset of the upper dir (strict's shifted ids), 0 otherwise */
  offset: number;
  /** the container's own settings, which the new image carries as its config */
  container: { entrypoint?: string[]; command: string[]; env: Record<string, string>; workdir?: string; user?: { uid: number; gid: number }; labels: Record<string, string> };
  author?: string;
}

/** Commit a container's changes on base as image target; returns the new image. */
export async function commitContainer(svc: ImageService, base: OciImage, input: CommitInput, target: string): Promise<OciImage> {
  const ref = parseReference(target);
  if (!ref.tag || ref.digest) throw new EngineError('INVALID_CONFIG', `Expected the image name to carry a tag such as team/bot:2, got \`${target}\``);
  const c = input.container;
  return deriveImage(svc, {
    base,
    config: {
      ...(base.doc.config.config ?? {}),
      Env: Object.entries(c.env).map(([k, v]) => `${k}=${v}`),
      Entrypoint: c.entrypoint?.length ? c.entrypoint : null,
      Cmd: c.command,
      WorkingDir: c.workdir ?? '',
      User: c.user ? `${c.user.uid}:${c.user.gid}` : '',
      Labels: c.labels,
    },
    history: { created_by: 'codex32 commit', author: input.author },
    layer: { dir: input.upper, offset: input.offset },
    tags: [formatReference(ref)],
    label: target,
  });
}
