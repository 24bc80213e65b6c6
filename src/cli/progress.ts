// Pull and push progress: one redrawn line per blob on a terminal, plain lines per phase otherwise.
import type { PullEvent } from '../images/pull.js';

const mb = (n = 0) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** A reporter for pull and push events, writing to stream (stderr by default). */
export function progressReporter(verb: string, stream: NodeJS.WriteStream = process.stderr): { onEvent: (e: PullEvent) => void; finish: () => void } {
  const lines = new Map<string, string>();
  const order: string[] = [];
  const tty = stream.isTTY === true;
  let drawn = 0;
  let last = 0;
  const text = (e: PullEvent): string => {
    const id = e.digest.slice(7, 19);
    if (e.phase === 'resolving') return `${id}: resolving`;
    if (e.phase === 'exists') return `${id}: already present`;
    if (e.phase === 'downloading') return `${id}: ${verb} ${mb(e.current)} / ${mb(e.total)}`;
    if (e.phase === 'unpacking') return `${id}: unpacking`;
    return `${id}: done${e.total !== undefined ? ` (${mb(e.total)})` : ''}`;
  };
  const redraw = (force: boolean) => {
    if (!force && Date.now() - last < 100) return;
    last = Date.now();
    let out = drawn ? `\x1b[${drawn}A` : '';
    for (const d of order) out += `\x1b[2K${lines.get(d)}\n`;
    drawn = order.length;
    stream.write(out);
  };
  return {
    onEvent: (e) => {
      if (!lines.has(e.digest)) order.push(e.digest);
      const prev = lines.get(e.digest);
      const line = text(e);
      lines.set(e.digest, line);
      if (tty) redraw(e.phase !== 'downloading');
      else if (e.phase !== 'downloading' || !prev?.includes(verb)) stream.write(`${line.replace(/ [\d.]+ MB \/ /, ' ')}\n`); // plain: one line per phase
    },
    finish: () => {
      if (tty && order.length) redraw(true);
    },
  };
}
