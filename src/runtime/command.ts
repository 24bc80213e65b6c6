// Host commands (ip, nft, sh) run without blocking the event loop: the library is embedded in servers
// whose other requests must not wait for a network namespace to be built.
import { spawn } from '../lazy.js';

export interface CommandResult {
  /** the exit code, or -1 when a signal ended it */
  code: number;
  stdout: string;
  stderr: string;
}

/** Run file with args, input (if any) on its stdin; resolves with its exit code and output, never rejects on a non-zero exit. */
export function runCommand(file: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject); // not found, not executable
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8') + (signal ? `killed by ${signal}` : '');
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
    // a command that exits before reading its input closes the pipe: its exit code says what happened
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
