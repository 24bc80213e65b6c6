// The one place engine errors become exit codes and messages on stderr; no error ever prints a stack trace.
import { EngineError, renameFields } from '../errors.js';
import { getLogger } from '../logger.js';

/** docker's convention: 125 the engine failed, 126 cannot invoke, 127 not found. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof EngineError) {
    if (err.code === 'COMMAND_NOT_FOUND') return 127;
    if (err.code === 'COMMAND_NOT_EXECUTABLE') return 126;
  }
  // STATE_CORRUPT, STATE_UNAVAILABLE and every other engine failure: 125
  return 125;
}

/** The flag that sets each config field an engine error may name (see fieldError): the CLI speaks in flags. */
export const FLAGS: Readonly<Record<string, string>> = {
  publish: '-p',
  publishAll: '-P',
  dns: '--dns',
  networkBandwidth: '--network-bandwidth',
  addHosts: '--add-host',
  network: '--network',
  networks: '--network',
  links: '--link',
  port: '--port',
  isolation: '--isolation',
  capAdd: '--cap-add',
  capDrop: '--cap-drop',
  readOnly: '--read-only',
  subnet: '--subnet',
  gateway: '--gateway',
  'limits.nofile': '--nofile',
  oomScoreAdj: '--oom-score-adj',
  'blkio.weight': '--blkio-weight',
  seccomp: '--security-opt seccomp',
  tmpfs: '--tmpfs',
  shmSize: '--shm-size',
  noNewPrivileges: '--security-opt no-new-privileges',
  'limits.memory': '--memory',
  'limits.cpus': '--cpus',
  'limits.pids': '--pids',
  hostname: '--hostname',
  user: '--user',
  workdir: '-w',
  env: '-e',
};

/** Print an error for a person (one line, no stack: LOG_LEVEL=debug logs it) and return the exit code. */
export function reportError(err: unknown): number {
  const code = exitCodeFor(err);
  getLogger().debug({ err }, 'command failed');
  if (err instanceof EngineError) process.stderr.write(`codex32: ${renameFields(err, FLAGS)} [${err.code}]\n`);
  else process.stderr.write(`codex32: unexpected error: ${err instanceof Error ? err.message : String(err)} (LOG_LEVEL=debug logs the details)\n`);
  return code;
}

/** True for the error a write to a pipe whose reader has gone raises (`codex32 logs x | head -1`). */
export function isClosedPipe(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'EPIPE';
}
