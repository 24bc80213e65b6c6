// Rootless: commands that must act as the container's root on files the container owns. An ordinary
// user cannot give a file to another uid, nor remove one another uid's directory holds; inside a user
// namespace mapped as its containers are (the user as 0, its subordinate range above) it can. The
// supervisor's userns-run makes that namespace (newuidmap, newgidmap); this writes the mapping it reads.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from '../lazy.js';
import { EngineError } from '../errors.js';
import { encodeSpecEntries } from './contract.js';
import { rootlessEntries, rootlessHost } from './rootless.js';
import { shimPath } from './supervisor.js';

const written = new Set<string>();

/** The run directory userns-run reads the mapping from (written once per process; a rename, so never half-read). */
function mappingDir(storageDir: string): string {
  const dir = join(storageDir, 'userns');
  if (written.has(dir)) return dir;
  const h = rootlessHost()!;
  if (h.missing.length) throw new EngineError('HOST_UNSUPPORTED', `codex32 runs rootless and cannot map the container's ids: missing ${h.missing.join('; ')}. Run \`codex32 info\`.`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `spec.${process.pid}`);
  writeFileSync(tmp, encodeSpecEntries(rootlessEntries(h)), { mode: 0o600 });
  renameSync(tmp, join(dir, 'spec'));
  written.add(dir);
  return dir;
}

/** argv run as the containers' root: as is for root, through the supervisor's userns-run when rootless. */
export function asContainerRoot(storageDir: string, argv: string[]): [string, string[]] {
  if (!rootlessHost()) return [argv[0], argv.slice(1)];
  return [shimPath(), ['userns-run', mappingDir(storageDir), '--', ...argv]];
}

/** Remove a tree whose files the container's ids may own: rootless, what rmSync cannot is removed as their root. */
export function removeOwnedTree(storageDir: string, path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch (e) {
    if (!rootlessHost() || !['EACCES', 'EPERM', 'ENOTEMPTY'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  }
  const [file, args] = asContainerRoot(storageDir, ['rm', '-rf', '--', path]);
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new EngineError('RUNTIME_FAILED', `Cannot remove ${path}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`, { context: { path } });
}
