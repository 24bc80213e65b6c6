// Host commands (ip, nft, sh, tar) run without blocking the event loop: the library is embedded in servers
// whose other requests must not wait for a network namespace to be built. Started through spawn.ts.
import { spawnProcess, type SpawnOptions } from './spawn.js';

export interface CommandResult {
  /** the exit code, or -1 when a signal ended it */
  code: number;
  stdout: string;
  stderr: string;
}

/** Run file with args, input (if any) on its stdin; resolves with its exit code and output, never rejects on a non-zero exit. */
export function runCommand(file: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawnProcess(file, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject); // not found, not executable
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      const stderr = Buffer.concat(err).toString('utf8') + (signal ? `killed by ${signal}` : '');
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
    // a command that exits before reading its input closes the pipe: its exit code says what happened
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/** How runFile failed: execFile's error, with the output so far. */
export type RunFileError = Error & { code?: number | string; signal?: NodeJS.Signals | null; killed?: boolean; cmd: string; stdout: string; stderr: string };

/**
 * execFile promisified, as text: resolves to { stdout, stderr } on exit code 0, rejects otherwise with
 * execFile's error (message "Command failed: CMD\nSTDERR", code, signal, stdout, stderr); output past
 * maxBuffer (1 MiB by default) kills it with SIGTERM and fails, as execFile does.
 */
export function runFile(file: string, args: readonly string[], o: { env?: SpawnOptions['env']; maxBuffer?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  const max = o.maxBuffer ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawnProcess(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env });
    const cmd = [file, ...args].join(' ');
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let over: string | undefined;
    const collect = (into: Buffer[], name: string) => (b: Buffer) => {
      size += b.length;
      if (size > max && !over) {
        over = name;
        child.kill('SIGTERM');
      }
      if (!over) into.push(b);
    };
    child.stdout!.on('data', collect(out, 'stdout'));
    child.stderr!.on('data', collect(err, 'stderr'));
    const fail = (e: Error, extra: object) => reject(Object.assign(e, { cmd, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }, extra));
    child.on('error', (e: Error) => fail(e, {}));
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (over) return fail(Object.assign(new RangeError(`${over} maxBuffer length exceeded`), { code: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' }), { killed: true, signal });
      if (code === 0) return resolve({ stdout, stderr });
      fail(new Error(`Command failed: ${cmd}\n${stderr}`), { code: code ?? undefined, signal, killed: false });
    });
  });
}
