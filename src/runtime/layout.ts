// Where a container's files live under the storage directory.
import { join } from 'node:path';
import { RUN_FILES } from './contract.js';

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
    spec: join(dir, RUN_FILES.spec),
    state: join(dir, RUN_FILES.state),
    exits: join(dir, RUN_FILES.exits),
    stopRequest: join(dir, RUN_FILES.stopRequest),
    shimErr: join(dir, RUN_FILES.shimErr),
    log: join(dir, RUN_FILES.log),
    etc: join(dir, 'etc'),
    seccompCache: join(storageDir, 'seccomp'),
  };
}
