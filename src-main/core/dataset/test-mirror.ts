/**
 * For tests only: a download mirror on 127.0.0.1 that serves the files of a folder, optionally
 * slowly (so a progress bar can be seen) or stalling after some bytes (so cancel can be tried).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';

export interface MirrorOptions {
  /** Send at most this many bytes per second (in 64 KB chunks); unlimited by default. */
  bytesPerSecond?: number;
  /** Send this many bytes of each file, then keep the connection open without sending more. */
  stallAfterBytes?: number;
}

export interface TestMirror {
  /** Base URL ending in `/`. */
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startMirror(dir: string, options: MirrorOptions = {}): Promise<TestMirror> {
  const requests: string[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const name = basename(decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname));
    requests.push(name);
    open.add(response);
    response.on('close', () => open.delete(response));
    void serve(join(dir, name), response, options).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: async () => {
      for (const response of open) response.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // idle keep-alive sockets would hold close() for seconds
      await closed;
    },
  };
}

async function serve(path: string, response: ServerResponse, options: MirrorOptions): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': info.size });
  const chunk = 64 * 1024;
  const delayMs = options.bytesPerSecond ? (chunk / options.bytesPerSecond) * 1000 : 0;
  let sent = 0;
  const stream = createReadStream(path, { highWaterMark: chunk });
  for await (const piece of stream as AsyncIterable<Buffer>) {
    if (response.destroyed) break;
    let data = piece;
    if (options.stallAfterBytes !== undefined) {
      const room = options.stallAfterBytes - sent;
      if (room <= 0) break;
      data = piece.subarray(0, room);
    }
    if (!response.write(data)) await new Promise((resolve) => response.once('drain', resolve));
    sent += data.byteLength;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  stream.destroy();
  // A stalled response stays open until the client gives up or the mirror closes.
  if (options.stallAfterBytes === undefined) response.end();
}

/** A port on 127.0.0.1 where nothing listens: a mirror that cannot be reached. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}
