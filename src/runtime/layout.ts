// Where a container's files live under the storage directory.
import { join } from 'node:path';

export interface ContainerPaths {
  dir: string;
  app: string;
  newroot: string;
  upper: string;
  work: string;
  spec: string;
  state: string;
  exits: string;
  stopRequest: string;
  shimErr: string;
  log: string;
  etc: string;
  /** compiled seccomp filters, shared by every container (keyed by their content) */
  seccompCache: string;
}

/** Paths of container id's files. */
export function containerPaths(storageDir: string, id: string): ContainerPaths {
  const dir = join(storageDir, 'containers', id);
  return {
    dir,
    app: join(dir, 'app'),
    newroot: join(dir, 'root'),
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    spec: join(dir, 'spec'),
    state: join(dir, 'state'),
    exits: join(dir, 'exits'),
    stopRequest: join(dir, 'stop-request'),
    shimErr: join(dir, 'shim.err'),
    log: join(dir, 'container.log'),
    etc: join(dir, 'etc'),
    seccompCache: join(storageDir, 'seccomp'),
  };
}
