/**
 * The browser shell: serves the built renderer over HTTP and the contract's handler table over a
 * WebSocket, on 127.0.0.1 only. The WebSocket requires the random token printed in the URL, the
 * Host header must be loopback (against DNS rebinding), and the Origin must be this server.
 * Whatever one client sends (broken frames, floods of calls), only that client is closed or
 * refused: the process, the training and the other clients go on.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Atelier } from '../app';
import { PHOTO_MAX_PATHS, PHOTO_UPLOAD_MAX_BYTES } from '../contract';
import { AtelierError, toErrorInfo } from '../core/errors';
import { dispatch } from '../dispatch';
import { CallQueue, type CallQueueLimits } from './call-queue';
import { RENDERER_HEADER_CSP } from './csp';
import { ClientMessageSchema, SESSION_PATH, TOKEN_PARAM, WS_PATH, type ServerMessage, type SessionAnswer } from './wire';

export interface WebServerOptions {
  atelier: Atelier;
  /** Folder with the built renderer (index.html and assets). */
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token (tests); a random one by default. */
  token?: string;
  /** Largest WebSocket message accepted (tests); MAX_MESSAGE_BYTES by default. */
  maxMessageBytes?: number;
  /** Per-connection call limits (tests); CALL_LIMITS by default. */
  callLimits?: CallQueueLimits;
}

export interface WebServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * The JSON around an upload's base64: per file, a name of up to 1,024 characters (at most 6 bytes
 * each once escaped, like \u0001), its keys and its base64 padding.
 */
const UPLOAD_ENVELOPE_BYTES = PHOTO_MAX_PATHS * (1024 * 6 + 64) + 4096;

/**
 * The largest message the contract needs: a photo or model upload of PHOTO_UPLOAD_MAX_BYTES as
 * base64 (4 characters per 3 bytes) and the JSON around it. A larger message closes the socket.
 */
export const MAX_MESSAGE_BYTES = Math.ceil(PHOTO_UPLOAD_MAX_BYTES / 3) * 4 + UPLOAD_ENVELOPE_BYTES;

/**
 * Enough for a page's parallel reads and a long call (a download) next to them; a client that
 * wants more waits, and past the backlog is told to slow down.
 */
export const CALL_LIMITS: CallQueueLimits = { inFlight: 8, waiting: 256 };

/** Answers a client has not read yet; past this it is not reading at all, and is dropped. */
const MAX_UNREAD_BYTES = 4 * MAX_MESSAGE_BYTES;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

function sameToken(expected: string, given: string | null): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function isLoopbackHost(host: string | undefined, port: number): boolean {
  return host === `${HOST}:${port}` || host === `localhost:${port}`;
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** Why the server could not listen, in words that say what to do instead. */
export function explainListenError(error: NodeJS.ErrnoException, port: number): AtelierError {
  if (error.code === 'EADDRINUSE') {
    return new AtelierError(
      'invalid-config',
      `Port ${port} on ${HOST} is already in use by another program. Use --port 0 to pick a free port, or choose another number with --port.`,
      { cause: error },
    );
  }
  if (error.code === 'EACCES') {
    return new AtelierError(
      'invalid-config',
      `Port ${port} on ${HOST} needs administrator rights (ports below 1024 are reserved). Use --port 0 to pick a free port, or a number from 1024 to 65535.`,
      { cause: error },
    );
  }
  return new AtelierError('internal', `Could not listen on ${HOST}:${port}: ${error.message}`, { cause: error });
}

const busyResult = (limits: CallQueueLimits): Extract<ServerMessage, { type: 'result' }>['result'] => ({
  ok: false,
  error: {
    kind: 'busy',
    message: `Too many calls are waiting on this connection (${limits.inFlight} running, ${limits.waiting} waiting); wait for their answers before sending more.`,
  },
});

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const rendererRoot = resolve(options.rendererDir);
  let port = 0;

  async function serveStatic(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!isLoopbackHost(request.headers.host, port)) {
      response.writeHead(421, { 'content-type': 'text/plain' }).end('Atelier only answers on 127.0.0.1.');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname: string;
    let url: URL;
    try {
      url = new URL(request.url ?? '/', `http://${HOST}`);
      pathname = decodeURIComponent(url.pathname);
    } catch {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('Bad request: the path is not valid URL encoding.');
      return;
    }
    if (pathname === SESSION_PATH) {
      // 200 either way: the page reads the answer, and a refused token is not a failed request.
      const answer: SessionAnswer = { authorized: sameToken(token, url.searchParams.get(TOKEN_PARAM)) };
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      response.end(request.method === 'HEAD' ? undefined : JSON.stringify(answer));
      return;
    }
    const relative = normalize(pathname === '/' ? '/index.html' : pathname).replace(/^([/\\])+/, '');
    const file = join(rendererRoot, relative);
    if (!file.startsWith(rendererRoot + sep)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a file');
      const contentType = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
      response.writeHead(200, {
        'content-type': contentType,
        'content-length': info.size,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
        // The page's URL carries the token: never send it to another site.
        'referrer-policy': 'no-referrer',
        // frame-ancestors only works from a header; the meta in index.html carries the rest too.
        ...(contentType.startsWith('text/html') ? { 'content-security-policy': RENDERER_HEADER_CSP } : {}),
      });
      if (request.method === 'HEAD') response.end();
      else {
        const stream = createReadStream(file);
        stream.once('error', () => response.destroy());
        stream.pipe(response);
      }
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    }
  }

  const server = createServer((request, response) => {
    serveStatic(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
      else response.destroy();
    });
  });
  // A malformed HTTP request, or a client that hung up mid-request: answer 400 if it still
  // listens, and let go of it either way.
  server.on('clientError', (_error, socket: Duplex) => {
    if (socket.writable) socket.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  });
  server.on('connection', (socket: Socket) => {
    // A reset connection must not become an unhandled 'error' event; the http server handles the rest.
    socket.on('error', () => socket.destroy());
  });
  const maxPayload = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const callLimits = options.callLimits ?? CALL_LIMITS;
  const sockets = new WebSocketServer({ noServer: true, maxPayload });
  sockets.on('error', (error) => console.error(`Atelier's WebSocket server: ${error.message}`));
  const clients = new Set<WebSocket>();

  server.on('upgrade', (request, socket, head) => {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(request.url ?? '/', `http://${HOST}`);
    } catch {
      return rejectUpgrade(socket, 400, 'Bad Request');
    }
    if (url.pathname !== WS_PATH) return rejectUpgrade(socket, 404, 'Not Found');
    if (!isLoopbackHost(request.headers.host, port)) return rejectUpgrade(socket, 421, 'Misdirected Request');
    if (!sameToken(token, url.searchParams.get(TOKEN_PARAM))) return rejectUpgrade(socket, 401, 'Unauthorized');
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${HOST}:${port}` && origin !== `http://localhost:${port}`) {
      return rejectUpgrade(socket, 403, 'Forbidden');
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  });

  const send = (ws: WebSocket, message: ServerMessage): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_UNREAD_BYTES) {
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(message));
  };

  sockets.on('connection', (ws: WebSocket) => {
    const calls = new CallQueue(callLimits);
    clients.add(ws);
    // A broken frame (invalid UTF-8, no mask, unknown opcode, too long): ws has already refused
    // it; drop this client at once rather than wait for its closing handshake.
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clients.delete(ws);
      calls.close();
    });
    ws.on('message', (data, isBinary) => {
      let parsed: unknown;
      try {
        parsed = isBinary ? undefined : JSON.parse(data.toString());
      } catch {
        parsed = undefined;
      }
      const envelope = ClientMessageSchema.safeParse(parsed);
      if (!envelope.success) {
        const id = typeof (parsed as { id?: unknown })?.id === 'number' ? (parsed as { id: number }).id : null;
        send(ws, { type: 'result', id, result: { ok: false, error: { kind: 'invalid-payload', message: 'Malformed message: expected {"type":"call","id":N,"channel":"…","input":…}.' } } });
        return;
      }
      const { id, channel, input } = envelope.data;
      const accepted = calls.offer(async () => {
        let result: Extract<ServerMessage, { type: 'result' }>['result'];
        try {
          result = await dispatch(options.atelier.handlers, channel, input, { shell: 'browser' });
        } catch (error) {
          result = { ok: false, error: toErrorInfo(error) };
        }
        send(ws, { type: 'result', id, result });
      });
      if (!accepted) send(ws, { type: 'result', id, result: busyResult(callLimits) });
    });
  });

  const unsubscribe = options.atelier.events.subscribe((name, payload) => {
    for (const ws of clients) send(ws, { type: 'event', name, payload });
  });

  const requestedPort = options.port ?? 0;
  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once('error', rejectListen);
      server.listen(requestedPort, HOST, () => {
        server.off('error', rejectListen);
        resolveListen();
      });
    });
  } catch (error) {
    unsubscribe();
    sockets.close();
    throw explainListenError(error as NodeJS.ErrnoException, requestedPort);
  }
  server.on('error', (error) => console.error(`Atelier's web server: ${error.message}`));
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://${HOST}:${port}/?${TOKEN_PARAM}=${token}`,
    port,
    token,
    close: async () => {
      unsubscribe();
      for (const ws of clients) ws.terminate();
      sockets.close();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
