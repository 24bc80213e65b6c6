// The app builder's ContainerRuntime on the codex32 library: each user's generated app in a container
// of its own, limited, with one published port, files moved in and out in one call each.
import { ContainerEngine, EngineError } from 'codex32';

export interface RunOptions {
  timeoutMs?: number;
  cwd?: string;
  env?: Record<string, string>;
  user?: string;
  signal?: AbortSignal;
}

export interface CreateOptions {
  image: string;
  command: string[];
  port: number;
  env?: Record<string, string>;
  /** standard (the default) or strict: one code path for both */
  isolation?: 'standard' | 'strict';
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ContainerRuntime {
  createContainer(appId: string, options: CreateOptions): Promise<string>;
  executeCommand(id: string, command: string[], options?: RunOptions): Promise<CommandResult>;
  getContainerUrl(id: string, port: number): Promise<string>;
  stopContainer(id: string): Promise<void>;
  uploadFiles(id: string, files: Array<{ path: string; content: string | Buffer; mode?: number }>): Promise<void>;
  downloadFiles(id: string, paths: string[]): Promise<Map<string, Buffer>>;
}

/** ContainerRuntime on codex32: standard or strict isolation, only CHOWN, SETUID and SETGID, 512 MiB, half a CPU, 100 processes per app. */
export class CodexRuntime implements ContainerRuntime {
  constructor(private readonly engine = new ContainerEngine()) {}

  async createContainer(appId: string, o: CreateOptions): Promise<string> {
    const c = await this.engine.create({
      name: `app-${appId}`,
      image: o.image,
      command: o.command,
      env: o.env ?? {},
      isolation: o.isolation ?? 'standard',
      capDrop: ['ALL'],
      capAdd: ['CHOWN', 'SETUID', 'SETGID'],
      limits: { memory: 512 * 2 ** 20, cpus: 0.5, pids: 100 },
      network: 'private',
      publish: [{ containerPort: o.port, hostPort: 0, hostIp: '127.0.0.1', protocol: 'tcp' }],
      restart: { name: 'on-failure', maxRetries: 3 },
    });
    await c.start();
    return c.id;
  }

  async executeCommand(id: string, command: string[], o: RunOptions = {}): Promise<CommandResult> {
    const r = await this.engine.exec(id, command, { timeout: o.timeoutMs, workdir: o.cwd, env: o.env, user: o.user, signal: o.signal });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
  }

  async getContainerUrl(id: string, port: number): Promise<string> {
    const bound = (await this.engine.inspect(id)).NetworkSettings.Ports[`${port}/tcp`]?.[0];
    if (!bound) throw new EngineError('INVALID_CONFIG', `Container ${id} publishes no port ${port}`);
    return `http://${bound.HostIp}:${bound.HostPort}`;
  }

  async stopContainer(id: string): Promise<void> {
    await this.engine.remove(id, { force: true });
  }

  uploadFiles(id: string, files: Array<{ path: string; content: string | Buffer; mode?: number }>): Promise<void> {
    return this.engine.writeFiles(id, files);
  }

  async downloadFiles(id: string, paths: string[]): Promise<Map<string, Buffer>> {
    return new Map((await this.engine.readFiles(id, paths)).map((f) => [f.path, f.content]));
  }
}
