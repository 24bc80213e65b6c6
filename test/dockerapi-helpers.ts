// The Docker API under test: `codex32 system service` on a socket of its own, and Docker's own clients
// (the docker CLI from Debian's docker.io) pointed at it with DOCKER_HOST.
import { spawn, type ChildProcess } from 'node:child_process';
import { execa, type Result, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, SLOWDOWN, sandbox, until } from './helpers.js';

export const DOCKER = '/usr/bin/docker';

export interface DockerApi extends ReturnType<typeof sandbox> {
  socket: string;
  dockerEnv: { DOCKER_HOST: string; DOCKER_CONFIG: string };
  docker(args: string[], opts?: { input?: string; timeout?: number }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  service: ResultPromise;
  stop(): Promise<void>;
}

/** A sandbox with the Docker API served on STORAGE/docker.sock; stop() ends the service and cleans up. */
export async function dockerApi(prefix: string): Promise<DockerApi> {
  const sb = sandbox(prefix);
  const socket = join(sb.storage, 'docker.sock');
  const service: ResultPromise = execa('node', [BIN, 'system', 'service', '--socket', socket], { env: sb.env, reject: false });
  await until(() => existsSync(socket), 30_000);
  const env = { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(sb.storage, 'docker-config') };
  /** Run the docker CLI against the service. */
  const docker = async (args: string[], opts: { input?: string; timeout?: number } = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> => {
    const r = (await execa(DOCKER, args, { env, reject: false, timeout: (opts.timeout ?? 120_000) * SLOWDOWN, input: opts.input, stripFinalNewline: true })) as Result;
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  };
  const stop = async () => {
    service.kill('SIGTERM');
    await service;
    await sb.clean();
  };
  return { ...sb, socket, dockerEnv: env, docker, service, stop };
}

/** dockerd on its own socket, data root and exec root under work (no bridge, no iptables, vfs), for the differential tests. */
export function spawnDockerd(work: string): { sock: string; proc: ChildProcess; ready: () => Promise<boolean>; stop: () => Promise<void> } {
  const sock = join(work, 'dockerd.sock');
  const proc = spawn('dockerd', ['--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver', 'vfs', '--data-root', join(work, 'dd-data'), '--exec-root', join(work, 'dd-exec'), '--pidfile', join(work, 'dd.pid'), '-H', `unix://${sock}`], { stdio: 'ignore' });
  /** true once it answers, false if it exits or does not answer within a minute */
  const ready = () =>
    until(async () => (await execa(DOCKER, ['version'], { env: { DOCKER_HOST: `unix://${sock}` }, reject: false })).exitCode === 0 || proc.exitCode !== null, 60_000).then(() => proc.exitCode === null, () => false);
  const stop = async () => {
    proc.kill('SIGTERM');
    if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
  };
  return { sock, proc, ready, stop };
}
