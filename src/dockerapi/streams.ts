// Docker's stream formats: stdcopy frames, NDJSON over chunked responses, and the raw hijacked socket.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** One stdcopy frame: [stream, 0, 0, 0, size (big-endian u32)] then the bytes; 1 stdout, 2 stderr. */
export function frame(stream: 1 | 2, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(data.length, 4);
  return Buffer.concat([head, data]);
}

/** Send 200 headers at once (clients wait on them before going on), then JSON lines as they come. */
export function ndjson(res: ServerResponse): (doc: unknown) => void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  return (doc) => void res.write(JSON.stringify(doc) + '\n');
}

/** Where a streaming endpoint writes: a hijacked socket, or a plain chunked response (dockerode's exec). */
export interface Output {
  write(data: Buffer): void;
  end(): void;
  /** bytes the client sends after its request (stdin); null when it cannot send any */
  input: Duplex | null;
  /** resolves when the client goes away */
  closed: Promise<void>;
}

/** Take over the socket of an Upgrade request: the 101 header in a write of its own, then raw bytes. */
export function hijack(socket: Duplex, head: Buffer, upgrade: boolean, contentType = 'application/vnd.docker.raw-stream'): Output {
  // docker-py reads the stream from the raw socket: a header and a first frame in one read lose the frame
  socket.write(
    upgrade
      ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`
      : `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n\r\n`,
  );
  if (head.length) socket.unshift(head);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.on('error', () => undefined);
  return {
    write: (d) => void (!socket.destroyed && socket.write(d)),
    end: () => socket.end(),
    input: socket,
    closed,
  };
}

/** A streaming body on an ordinary response (no upgrade): chunked, headers sent at once. */
export function chunked(res: ServerResponse, contentType = 'application/vnd.docker.raw-stream'): Output {
  res.writeHead(200, { 'Content-Type': contentType });
  res.flushHeaders();
  const closed = new Promise<void>((r) => res.once('close', () => r()));
  return { write: (d) => void (!res.destroyed && res.write(d)), end: () => res.end(), input: null, closed };
}
