// The CLI's output to stdout. A command's text is written to fd 1 directly: creating process.stdout loads
// Node's stream modules, about a tenth of a short command's start-up (docs/benchmarks.md). Streams that go
// on (logs -f, attach, exec) keep process.stdout; writes to both stay in order because each write here
// completes before it returns, as Node's own writes to files and pipes do on Linux.
import { writeSync } from 'node:fs';

let viaStream = false;

/** Write text to stdout now. A closed pipe throws EPIPE to the caller, as the command's result. */
export function out(text: string): void {
  if (viaStream) {
    process.stdout.write(text);
    return;
  }
  const buf = Buffer.from(text);
  let done = 0;
  try {
    while (done < buf.length) done += writeSync(1, buf, done);
  } catch (err) {
    // a non-blocking stdout that is full: the stream waits for it (and keeps the order from here on)
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    viaStream = true;
    process.stdout.write(buf.subarray(done));
  }
}
