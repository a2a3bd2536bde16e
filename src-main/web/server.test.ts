import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import type { Atelier } from '../app';
import { CALL_NAMES, type EngineInfo } from '../contract';
import type { CallContext, Handlers } from '../dispatch';
import { EventHub } from '../events';
import { RENDERER_HEADER_CSP } from './csp';
import { startWebServer, type WebServer } from './server';
import { SESSION_PATH, TOKEN_PARAM, WS_PATH, type ServerMessage } from './wire';

const INDEX_HTML = '<!doctype html><title>Atelier test</title><div id="app"></div>';
const APP_JS = 'console.log("atelier");';
const SECRET = 'secret-outside-the-renderer-folder';

let dir: string;
let rendererDir: string;
let events: EventHub;
let server: WebServer;

/** Every channel answers with what it saw, so a test can tell which call and shell reached it. */
function echoHandlers(): Handlers {
  return Object.fromEntries(
    CALL_NAMES.map((channel) => [channel, async (input: unknown, context: CallContext) => ({ channel, input, shell: context.shell })]),
  ) as unknown as Handlers;
}

function fakeAtelier(hub: EventHub): Atelier {
  return {
    home: dir,
    events: hub,
    handlers: echoHandlers(),
    dispose: async () => undefined,
  } as unknown as Atelier;
}

const engineInfo: EngineInfo = {
  state: 'ready',
  backend: 'wasm',
  tfjsVersion: '4.22.0',
  features: { simd: true },
  ladder: [],
  error: null,
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'atelier-web-'));
  rendererDir = join(dir, 'renderer');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), INDEX_HTML);
  writeFileSync(join(rendererDir, 'assets', 'app.js'), APP_JS);
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  // A sibling whose name starts with the renderer folder's: a naive prefix check would let it through.
  mkdirSync(join(dir, 'renderer-private'));
  writeFileSync(join(dir, 'renderer-private', 'secret.txt'), SECRET);
  events = new EventHub();
  server = await startWebServer({ atelier: fakeAtelier(events), rendererDir });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

// ─── helpers ──────────────────────────────────────────────────────────────────────────────────────

const openSockets: WebSocket[] = [];
afterEach(() => {
  for (const socket of openSockets.splice(0)) socket.terminate();
});

function wsUrl(token: string | null = server.token, path = WS_PATH): string {
  return `ws://127.0.0.1:${server.port}${path}${token === null ? '' : `?${TOKEN_PARAM}=${encodeURIComponent(token)}`}`;
}

/** A connected client that queues every message it receives. */
interface Client {
  socket: WebSocket;
  next(predicate?: (message: ServerMessage) => boolean): Promise<ServerMessage>;
  call(id: number, channel: unknown, input?: unknown): Promise<ServerMessage>;
}

function connect(url = wsUrl(), options: ClientOptions = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    openSockets.push(socket);
    const received: ServerMessage[] = [];
    const waiters: Array<() => void> = [];
    socket.on('message', (data: RawData) => {
      received.push(JSON.parse(data.toString()) as ServerMessage);
      for (const wake of waiters.splice(0)) wake();
    });
    const next = (predicate: (message: ServerMessage) => boolean = () => true): Promise<ServerMessage> =>
      new Promise((done, fail) => {
        const look = (): void => {
          const index = received.findIndex(predicate);
          if (index >= 0) done(received.splice(index, 1)[0]!);
          else if (socket.readyState !== WebSocket.OPEN) fail(new Error('the socket closed while waiting for a message'));
          else waiters.push(look);
        };
        look();
      });
    const call = (id: number, channel: unknown, input: unknown = {}): Promise<ServerMessage> => {
      socket.send(JSON.stringify({ type: 'call', id, channel, input }));
      return next((message) => message.type === 'result' && message.id === id);
    };
    socket.once('open', () => resolve({ socket, next, call }));
    socket.once('unexpected-response', (_request, response) => {
      reject(new Error(`refused with HTTP ${response.statusCode}`));
      socket.terminate();
    });
    socket.once('error', reject);
    socket.on('close', () => {
      for (const wake of waiters.splice(0)) wake();
    });
  });
}

/** The HTTP status with which the server refuses a WebSocket upgrade (fails if it accepts). */
function refusal(url: string, options: ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    openSockets.push(socket);
    socket.once('open', () => reject(new Error('the upgrade was accepted')));
    socket.once('unexpected-response', (request, response) => {
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
    socket.once('error', (error) => reject(error));
  });
}

interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request, so that the path reaches the server exactly as written (no client-side normalising). */
function http(path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

function resultOf(message: ServerMessage): Extract<ServerMessage, { type: 'result' }>['result'] {
  if (message.type !== 'result') throw new Error(`expected a result, got ${JSON.stringify(message)}`);
  return message.result;
}

// ─── tests ────────────────────────────────────────────────────────────────────────────────────────

describe('browser shell: binding and token', () => {
  it('listens on 127.0.0.1 only and prints a URL that carries a long random token', async () => {
    const url = new URL(server.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(server.port);
    expect(url.searchParams.get(TOKEN_PARAM)).toBe(server.token);
    expect(server.token).toMatch(/^[\w-]{32,}$/);

    const other = await startWebServer({ atelier: fakeAtelier(new EventHub()), rendererDir });
    try {
      expect(other.token).not.toBe(server.token);
      expect(new URL(other.url).hostname).toBe('127.0.0.1');
    } finally {
      await other.close();
    }
  });

  it('cannot be reached on any other address of this machine', async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address && !address.internal)
      .map((address) => address!.address);
    for (const host of [...others, '::1']) {
      const reached = await new Promise<boolean>((resolve) => {
        const socket = netConnect({ host, port: server.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      expect(reached, `port ${server.port} answered on ${host}`).toBe(false);
    }
  });

  it('refuses a WebSocket without a token (401)', async () => {
    expect(await refusal(wsUrl(null))).toBe(401);
  });

  it('refuses a WebSocket with a wrong token (401), whatever its length', async () => {
    const wrong = [
      '',
      'x',
      `${server.token.slice(0, -1)}${server.token.endsWith('A') ? 'B' : 'A'}`,
      `${server.token}x`,
      server.token.slice(1),
      server.token.toUpperCase() === server.token ? server.token.toLowerCase() : server.token.toUpperCase(),
    ];
    for (const token of wrong) expect(await refusal(wsUrl(token)), token).toBe(401);
    // The token only counts in its own parameter.
    expect(await refusal(`ws://127.0.0.1:${server.port}${WS_PATH}?other=${server.token}`)).toBe(401);
  });

  it('refuses a WebSocket from another origin (403)', async () => {
    for (const origin of ['http://evil.example', `http://127.0.0.1:${server.port + 1}`, `https://127.0.0.1:${server.port}`, 'null', 'file://']) {
      expect(await refusal(wsUrl(), { origin }), origin).toBe(403);
    }
  });

  it('refuses a WebSocket whose Host is not this loopback server (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`, '127.0.0.1', `0.0.0.0:${server.port}`]) {
      const status = await refusal(wsUrl(), { headers: { host } });
      expect(status, host).toBeGreaterThanOrEqual(400);
      expect(status, host).toBeLessThan(500);
    }
  });

  it('refuses a WebSocket on another path', async () => {
    expect(await refusal(wsUrl(server.token, '/socket'))).toBe(404);
  });

  it('accepts the right token from this origin (127.0.0.1 or localhost) and from a non-browser client', async () => {
    for (const options of [{ origin: `http://127.0.0.1:${server.port}` }, { origin: `http://localhost:${server.port}` }, {}]) {
      const client = await connect(wsUrl(), options);
      expect(resultOf(await client.call(1, 'system.info'))).toEqual({ ok: true, value: { channel: 'system.info', input: {}, shell: 'browser' } });
      client.socket.close();
    }
  });
});

describe('browser shell: session check', () => {
  it('tells the page whether its token is good, without refusing the request itself', async () => {
    const good = await http(`${SESSION_PATH}?${TOKEN_PARAM}=${encodeURIComponent(server.token)}`);
    expect(good.status).toBe(200);
    expect(good.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(good.body)).toEqual({ authorized: true });
    for (const query of ['', `?${TOKEN_PARAM}=`, `?${TOKEN_PARAM}=wrong`, `?${TOKEN_PARAM}=${server.token}x`, `?other=${server.token}`]) {
      const answer = await http(`${SESSION_PATH}${query}`);
      expect(answer.status, query).toBe(200);
      expect(JSON.parse(answer.body), query).toEqual({ authorized: false });
    }
  });

  it('answers only for loopback host names', async () => {
    const answer = await http(`${SESSION_PATH}?${TOKEN_PARAM}=${server.token}`, { headers: { host: 'evil.example' } });
    expect(answer.status).toBe(421);
    expect(answer.body).not.toContain('authorized');
  });
});

describe('browser shell: calls', () => {
  it('answers every call with its own id, through dispatch', async () => {
    const client = await connect();
    const answers = await Promise.all([client.call(7, 'system.info'), client.call(8, 'system.info', null)]);
    expect(answers.map((answer) => (answer.type === 'result' ? answer.id : null))).toEqual([7, 8]);
    for (const answer of answers) expect(resultOf(answer)).toMatchObject({ ok: true });

    const unknown = resultOf(await client.call(9, 'system.reboot'));
    expect(unknown).toMatchObject({ ok: false, error: { kind: 'unknown-call' } });
    const invalid = resultOf(await client.call(10, 'system.info', { extra: true }));
    expect(invalid).toMatchObject({ ok: false, error: { kind: 'invalid-payload', message: expect.stringContaining('system.info') } });
  });

  it('answers malformed messages with a typed invalid-payload result and keeps the socket usable', async () => {
    const client = await connect();
    const malformed: Array<{ send: string | Buffer; id: number | null }> = [
      { send: 'not json', id: null },
      { send: '{"type":"call","id":1,', id: null },
      { send: 'null', id: null },
      { send: '[]', id: null },
      { send: '42', id: null },
      { send: JSON.stringify({ type: 'call', id: 3, channel: 7, input: {} }), id: 3 },
      { send: JSON.stringify({ type: 'subscribe', id: 4, channel: 'system.info' }), id: 4 },
      { send: JSON.stringify({ type: 'call', id: 1.5, channel: 'system.info' }), id: 1.5 },
      { send: JSON.stringify({ type: 'call', id: '5', channel: 'system.info' }), id: null },
      { send: JSON.stringify({ type: 'call', id: 6, channel: 'x'.repeat(10_000) }), id: 6 },
      { send: Buffer.from(JSON.stringify({ type: 'call', id: 2, channel: 'system.info', input: {} })), id: null },
    ];
    for (const { send, id } of malformed) {
      client.socket.send(send, { binary: Buffer.isBuffer(send) });
      const answer = await client.next((message) => message.type === 'result');
      expect(answer, String(send).slice(0, 60)).toMatchObject({ type: 'result', id, result: { ok: false, error: { kind: 'invalid-payload' } } });
    }
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    expect(resultOf(await client.call(11, 'system.info'))).toMatchObject({ ok: true });
  });
});

describe('browser shell: events', () => {
  it('pushes core events to every connected client, and stops for one that left', async () => {
    const first = await connect();
    const second = await connect();

    events.emit('engine.status', engineInfo);
    for (const client of [first, second]) {
      expect(await client.next((message) => message.type === 'event')).toEqual({ type: 'event', name: 'engine.status', payload: engineInfo });
    }

    const closed = new Promise((resolve) => first.socket.once('close', resolve));
    first.socket.close();
    await closed;
    const later = { ...engineInfo, backend: 'cpu' as const };
    expect(() => events.emit('engine.status', later)).not.toThrow();
    expect(await second.next((message) => message.type === 'event')).toEqual({ type: 'event', name: 'engine.status', payload: later });
  });

  it('releases its event subscription and its clients on close()', async () => {
    const hub = new EventHub();
    let subscriptions = 0;
    const subscribe = hub.subscribe.bind(hub);
    hub.subscribe = (listener) => {
      subscriptions++;
      const unsubscribe = subscribe(listener);
      return () => {
        subscriptions--;
        return unsubscribe();
      };
    };
    const other = await startWebServer({ atelier: fakeAtelier(hub), rendererDir });
    expect(subscriptions).toBe(1);
    const client = await connect(`ws://127.0.0.1:${other.port}${WS_PATH}?${TOKEN_PARAM}=${other.token}`);
    const closed = new Promise((resolve) => client.socket.once('close', resolve));
    await other.close();
    await closed;
    expect(subscriptions).toBe(0);
    expect(() => hub.emit('engine.status', engineInfo)).not.toThrow();
    // Closed means closed: no new connections either.
    await expect(connect(`ws://127.0.0.1:${other.port}${WS_PATH}?${TOKEN_PARAM}=${other.token}`)).rejects.toThrow();
  });
});

describe('browser shell: static files', () => {
  it('serves index.html at / (with or without the token query) and assets by path', async () => {
    for (const path of ['/', `/?${TOKEN_PARAM}=${server.token}`, '/index.html']) {
      const answer = await http(path);
      expect(answer.status, path).toBe(200);
      expect(answer.body).toBe(INDEX_HTML);
      expect(answer.headers['content-type']).toMatch(/^text\/html/);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
    }
    const script = await http('/assets/app.js');
    expect(script.status).toBe(200);
    expect(script.body).toBe(APP_JS);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it("sends the page's CSP (with frame-ancestors 'none') and no-referrer with HTML, and no CSP with other files", async () => {
    const page = await http(`/?${TOKEN_PARAM}=${server.token}`);
    expect(page.headers['content-security-policy']).toBe(RENDERER_HEADER_CSP);
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const script = await http('/assets/app.js');
    expect(script.headers['content-security-policy']).toBeUndefined();
  });

  it('answers HEAD with the headers and no body', async () => {
    const answer = await http('/index.html', { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(INDEX_HTML));
    expect(answer.body).toBe('');
  });

  it('answers 404 for a missing file or a folder, and 405 for other methods', async () => {
    expect((await http('/missing.js')).status).toBe(404);
    expect((await http('/assets')).status).toBe(404);
    expect((await http('/assets/')).status).toBe(404);
    expect((await http('/index.html', { method: 'POST' })).status).toBe(405);
    expect((await http('/index.html', { method: 'PUT' })).status).toBe(405);
  });

  it('refuses to serve anything outside the renderer folder, however the path is spelled', async () => {
    const attempts = [
      '/../secret.txt',
      '/../../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/%5c..%5csecret.txt',
      '/%252e%252e%252fsecret.txt',
      '//../secret.txt',
      '/../renderer-private/secret.txt',
      '/%2e%2e%2frenderer-private%2fsecret.txt',
      `/${encodeURIComponent(join(dir, 'secret.txt'))}`,
      '/secret.txt%00.html',
    ];
    for (const path of attempts) {
      const answer = await http(path);
      expect(answer.body, path).not.toContain(SECRET);
      expect(answer.status, path).toBeGreaterThanOrEqual(400);
    }
  });

  it('survives a badly encoded path and keeps serving', async () => {
    const answer = await http('/%E0%A4%A');
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect((await http('/')).status).toBe(200);
  });

  it('refuses a page request whose Host is not this loopback server', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`]) {
      const answer = await http('/', { headers: { host } });
      expect(answer.status, host).toBe(421);
      expect(answer.body).not.toContain(INDEX_HTML);
    }
    expect((await http('/', { headers: { host: `localhost:${server.port}` } })).status).toBe(200);
  });
});
