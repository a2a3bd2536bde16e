/**
 * The browser shell under hostile or careless clients: broken WebSocket frames sent over a raw TCP
 * socket after a correct, tokened handshake; a client that floods calls; ports that cannot be had.
 * Whatever one client does, the process lives, other clients are answered and training goes on.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { createAtelier, type Atelier } from '../app';
import { CALL_NAMES, calls, PHOTO_MAX_PATHS, PHOTO_UPLOAD_MAX_BYTES, type EventPayload, type TrainingConfig } from '../contract';
import { AtelierError } from '../core/errors';
import type { Handlers } from '../dispatch';
import { EventHub } from '../events';
import { engineWorkerUrl } from '../locations';
import { explainListenError, MAX_MESSAGE_BYTES, startWebServer, type WebServer } from './server';
import { TOKEN_PARAM, WS_PATH, type ServerMessage } from './wire';

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(join(FASHION_MNIST, 'train-images-idx3-ubyte.gz'));

let dir: string;
let rendererDir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atelier-web-robust-'));
  rendererDir = join(dir, 'renderer');
  mkdirSync(rendererDir);
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Atelier test</title>');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// An unhandled 'error' event anywhere in this process lands here; each attack checks none did.
const uncaught: unknown[] = [];
const recordUncaught = (error: unknown): void => void uncaught.push(error);
beforeAll(() => void process.on('uncaughtException', recordUncaught));
afterAll(() => void process.off('uncaughtException', recordUncaught));

const openSockets: Array<{ destroy(): void } | WebSocket> = [];
afterEach(() => {
  for (const socket of openSockets.splice(0)) {
    if (socket instanceof WebSocket) socket.terminate();
    else socket.destroy();
  }
});

// ─── a well-behaved client ────────────────────────────────────────────────────────────────────────

interface Client {
  socket: WebSocket;
  received: ServerMessage[];
  call(id: number, channel: string, input?: unknown): Promise<Extract<ServerMessage, { type: 'result' }>>;
  event(name: string, where?: (payload: unknown) => boolean): Promise<unknown>;
}

function connectClient(server: WebServer): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}${WS_PATH}?${TOKEN_PARAM}=${server.token}`);
    openSockets.push(socket);
    const received: ServerMessage[] = [];
    const waiters = new Set<() => void>();
    socket.on('message', (data: RawData) => {
      received.push(JSON.parse(data.toString()) as ServerMessage);
      for (const wake of [...waiters]) wake();
    });
    const waitFor = <T extends ServerMessage>(predicate: (message: ServerMessage) => message is T): Promise<T> =>
      new Promise((done, fail) => {
        const look = (): void => {
          const found = received.find(predicate);
          if (found) {
            waiters.delete(look);
            done(found);
          } else if (socket.readyState !== WebSocket.OPEN) {
            waiters.delete(look);
            fail(new Error('the good client was disconnected'));
          }
        };
        waiters.add(look);
        look();
      });
    socket.on('close', () => {
      for (const wake of [...waiters]) wake();
    });
    const client: Client = {
      socket,
      received,
      call: (id, channel, input = {}) => {
        socket.send(JSON.stringify({ type: 'call', id, channel, input }));
        return waitFor((message): message is Extract<ServerMessage, { type: 'result' }> => message.type === 'result' && message.id === id);
      },
      event: async (name, where = () => true) =>
        (await waitFor((message): message is Extract<ServerMessage, { type: 'event' }> => message.type === 'event' && message.name === name && where(message.payload))).payload,
    };
    socket.once('open', () => resolve(client));
    socket.once('error', reject);
  });
}

// ─── raw frames ───────────────────────────────────────────────────────────────────────────────────

/** A TCP socket that has done a correct WebSocket handshake with the token, and nothing else. */
function rawUpgrade(server: WebServer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port: server.port });
    openSockets.push(socket);
    // The server may hang up while we still write (that is the point); a reset is not a test failure.
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`the handshake was refused: ${head.split('\r\n')[0]}`));
      else resolve(socket);
    };
    socket.on('data', onData);
    socket.once('connect', () => {
      socket.write(
        [
          `GET ${WS_PATH}?${TOKEN_PARAM}=${server.token} HTTP/1.1`,
          `Host: 127.0.0.1:${server.port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
    });
  });
}

interface FrameSpec {
  fin?: boolean;
  rsv1?: boolean;
  opcode: number;
  masked?: boolean;
  payload?: Buffer;
  /** Written in the 64-bit length field instead of the payload's real length. */
  declaredLength?: bigint;
}

/** One WebSocket frame, written by hand so that it can break every rule (RFC 6455 §5.2). */
function frame({ fin = true, rsv1 = false, opcode, masked = true, payload = Buffer.alloc(0), declaredLength }: FrameSpec): Buffer {
  const first = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = masked ? 0x80 : 0;
  let header: Buffer;
  if (declaredLength !== undefined || payload.length > 0xffff) {
    header = Buffer.alloc(10);
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(declaredLength ?? BigInt(payload.length), 2);
  } else if (payload.length > 125) {
    header = Buffer.alloc(4);
    header[1] = maskBit | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(2);
    header[1] = maskBit | payload.length;
  }
  header[0] = first;
  if (!masked) return Buffer.concat([header, payload]);
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let index = 0; index < body.length; index++) body[index]! ^= mask[index & 3]!;
  return Buffer.concat([header, mask, body]);
}

const goodCall = Buffer.from(JSON.stringify({ type: 'call', id: 1, channel: 'system.info', input: {} }));

interface Attack {
  name: string;
  bytes(limit: number): Buffer;
  /** Sends more than `limit` bytes for real: too heavy at the shipped limit of tens of megabytes. */
  sendsTheLimit?: boolean;
}

const ATTACKS: Attack[] = [
  { name: 'a text frame with invalid UTF-8', bytes: () => frame({ opcode: 0x1, payload: Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0xfe, 0x7d]) }) },
  { name: 'an unmasked client frame', bytes: () => frame({ opcode: 0x1, masked: false, payload: goodCall }) },
  { name: 'a reserved opcode (0x3)', bytes: () => frame({ opcode: 0x3, payload: goodCall }) },
  { name: 'a reserved control opcode (0xB)', bytes: () => frame({ opcode: 0xb }) },
  { name: 'RSV1 set without a negotiated extension', bytes: () => frame({ opcode: 0x1, rsv1: true, payload: goodCall }) },
  { name: 'a ping longer than 125 bytes', bytes: () => frame({ opcode: 0x9, payload: Buffer.alloc(200, 1) }) },
  { name: 'a fragmented ping', bytes: () => frame({ fin: false, opcode: 0x9, payload: Buffer.from('x') }) },
  { name: 'a continuation frame with nothing to continue', bytes: () => frame({ opcode: 0x0, payload: goodCall }) },
  { name: 'a frame one byte over the size limit', bytes: (limit) => frame({ opcode: 0x2, payload: Buffer.alloc(Math.min(limit + 1, 64 * 1024), 7), declaredLength: BigInt(limit + 1) }) },
  {
    name: 'fragments that add up to more than the size limit',
    sendsTheLimit: true,
    bytes: (limit) => {
      const half = Buffer.alloc(Math.ceil((limit + 2) / 2), 0x61);
      return Buffer.concat([frame({ fin: false, opcode: 0x1, payload: half }), frame({ opcode: 0x0, payload: half })]);
    },
  },
  { name: 'a declared 64-bit length of 2^63 - 1', bytes: () => frame({ opcode: 0x2, payload: Buffer.alloc(16), declaredLength: 2n ** 63n - 1n }) },
  { name: 'a declared 64-bit length with the top bit set', bytes: () => frame({ opcode: 0x2, payload: Buffer.alloc(16), declaredLength: 2n ** 64n - 1n }) },
  { name: 'random bytes', bytes: () => Buffer.from([0xff, ...randomBytes(64)]) },
];

/** Send one attack and wait until the server has hung up on that socket. */
async function attack(server: WebServer, bytes: Buffer): Promise<void> {
  const socket = await rawUpgrade(server);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(bytes);
  await closed;
}

/** An attack that is not a WebSocket frame at all: a TCP reset right after the handshake. */
async function resetAfterUpgrade(server: WebServer): Promise<void> {
  const socket = await rawUpgrade(server);
  socket.resetAndDestroy();
}

/** A malformed HTTP request (clientError) and a reset in the middle of a handshake. */
async function brokenHttp(server: WebServer): Promise<string> {
  const answer = await new Promise<string>((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port: server.port });
    openSockets.push(socket);
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.once('close', () => resolve(text));
    socket.once('connect', () => socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nThis is not a header\r\n\r\n'));
  });
  await new Promise<void>((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(`GET ${WS_PATH}?${TOKEN_PARAM}=${server.token} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n`);
      socket.resetAndDestroy();
      resolve();
    });
  });
  return answer;
}

function echoHandlers(): Handlers {
  return Object.fromEntries(CALL_NAMES.map((channel) => [channel, async () => ({ channel })])) as unknown as Handlers;
}

function fakeAtelier(handlers: Handlers, events = new EventHub()): Atelier {
  return { home: dir, events, handlers, dispose: async () => undefined } as unknown as Atelier;
}

describe('browser shell: broken frames from a client with the token', () => {
  const LIMIT = 4096;
  let server: WebServer;

  beforeAll(async () => {
    // A small size limit, so that the oversize attacks send every byte they declare.
    server = await startWebServer({ atelier: fakeAtelier(echoHandlers()), rendererDir, maxMessageBytes: LIMIT });
  });
  afterAll(async () => server.close());

  it.each(ATTACKS)('$name: only that client is closed; the others are still answered', async ({ bytes }) => {
    const bystander = await connectClient(server);
    await attack(server, bytes(LIMIT));
    expect(uncaught).toEqual([]);
    expect((await bystander.call(2, 'system.info')).result).toMatchObject({ ok: true });
    const newcomer = await connectClient(server);
    expect((await newcomer.call(3, 'system.info')).result).toMatchObject({ ok: true });
  });

  it('a message exactly at the size limit is still accepted', async () => {
    const socket = await rawUpgrade(server);
    const call = JSON.stringify({ type: 'call', id: 9, channel: 'system.info', input: {} });
    const padded = Buffer.from(call.slice(0, -1) + ' '.repeat(LIMIT - call.length) + '}');
    expect(padded.length).toBe(LIMIT);
    const answer = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))));
    socket.write(frame({ opcode: 0x1, payload: padded }));
    expect(await answer).toContain('"id":9');
  });

  it('a reset right after the handshake, a reset mid-handshake and a malformed HTTP request do not stop it', async () => {
    const bystander = await connectClient(server);
    await resetAfterUpgrade(server);
    expect(await brokenHttp(server)).toMatch(/^HTTP\/1\.1 400/);
    expect(uncaught).toEqual([]);
    expect((await bystander.call(4, 'system.info')).result).toMatchObject({ ok: true });
  });
});

describe('browser shell: the size limit', () => {
  it("fits the contract's largest upload: the most photos, with the longest, worst-escaped names, and the most bytes", () => {
    const perFile = Math.floor(PHOTO_UPLOAD_MAX_BYTES / PHOTO_MAX_PATHS);
    const base64Length = Math.ceil(perFile / 3) * 4;
    // The envelope with the base64 left out (the whole message would be tens of megabytes).
    const files = Array.from({ length: PHOTO_MAX_PATHS }, () => ({ name: '\u0001'.repeat(1024), base64: '' }));
    const input = { files, runId: 'r'.repeat(80), includeSteps: true, preprocessing: 'atelier', requestId: 'q'.repeat(64) };
    const envelope = Buffer.byteLength(JSON.stringify({ type: 'call', id: Number.MAX_SAFE_INTEGER, channel: 'photos.classifyFiles', input }));
    // The contract accepts it (checked with the real base64 length by the schema's own rule).
    const accepted = calls['photos.classifyFiles'].input.safeParse({ ...input, files: files.map((file) => ({ ...file, base64: 'A'.repeat(base64Length) })) });
    expect(accepted.success).toBe(true);
    expect(envelope + PHOTO_MAX_PATHS * base64Length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });
});

describe('browser shell: one client flooding calls', () => {
  it("answers another client's call before the flood's backlog is drained, and tells the flood to slow down", async () => {
    const limits = { inFlight: 4, waiting: 50 };
    const FLOOD = 500;
    // One shared resource that serves calls strictly in arrival order (like the engine worker);
    // nothing is served until the test releases it, so the order is all that counts.
    const line: Array<{ channel: string; release(): void }> = [];
    const handlers = Object.fromEntries(
      CALL_NAMES.map((channel) => [channel, () => new Promise((resolve) => line.push({ channel, release: () => resolve({ channel }) }))]),
    ) as unknown as Handlers;
    const server = await startWebServer({ atelier: fakeAtelier(handlers), rendererDir, callLimits: limits });
    try {
      const flooder = await connectClient(server);
      const results = () => flooder.received.filter((message) => message.type === 'result') as Array<Extract<ServerMessage, { type: 'result' }>>;
      const busy = () => results().filter((message) => !message.result.ok && message.result.error.kind === 'busy');
      for (let id = 1; id <= FLOOD; id++) flooder.socket.send(JSON.stringify({ type: 'call', id, channel: 'system.info', input: {} }));

      // Until every flood call is either refused or reached the resource (only the backlog is left).
      while (busy().length + line.length < FLOOD - limits.waiting) await new Promise((resolve) => setImmediate(resolve));

      const other = await connectClient(server);
      const answer = other.call(1, 'runs.list');
      while (!line.some((entry) => entry.channel === 'runs.list')) await new Promise((resolve) => setImmediate(resolve));
      const floodCallsAhead = line.findIndex((entry) => entry.channel === 'runs.list');
      expect(floodCallsAhead).toBeLessThanOrEqual(limits.inFlight);

      // Serve everything in order; the other client's answer comes before the flood's backlog is done.
      let floodAnsweredWhenOtherWas = -1;
      void answer.then(() => (floodAnsweredWhenOtherWas = results().filter((message) => message.result.ok).length));
      while (results().length < FLOOD || floodAnsweredWhenOtherWas < 0) {
        const next = line.shift();
        if (next) next.release();
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect((await answer).result).toEqual({ ok: true, value: { channel: 'runs.list' } });
      expect(floodAnsweredWhenOtherWas).toBeLessThan(limits.inFlight + limits.waiting);

      const answered = results();
      expect(new Set(answered.map((message) => message.id)).size).toBe(FLOOD);
      expect(answered.filter((message) => message.result.ok)).toHaveLength(limits.inFlight + limits.waiting);
      expect(busy()).toHaveLength(FLOOD - limits.inFlight - limits.waiting);
      expect(busy()[0]!.result).toMatchObject({ ok: false, error: { message: expect.stringMatching(/wait for their answers/) } });
      // Refusals are not stuck: once its answers came back, the same client is served again.
      const again = flooder.call(FLOOD + 1, 'system.info');
      while (line.length === 0) await new Promise((resolve) => setImmediate(resolve));
      line.shift()!.release();
      expect((await again).result).toMatchObject({ ok: true });
    } finally {
      for (const entry of line.splice(0)) entry.release();
      await server.close();
    }
  });
});

describe('browser shell: ports it cannot have', () => {
  let blocker: NetServer;
  let busyPort: number;

  beforeAll(async () => {
    blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    busyPort = (blocker.address() as { port: number }).port;
  });
  afterAll(async () => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('a port in use: rejects with an invalid-config error that says how to pick another', async () => {
    const hub = new EventHub();
    let subscribed = 0;
    const subscribe = hub.subscribe.bind(hub);
    hub.subscribe = (listener) => {
      subscribed++;
      const unsubscribe = subscribe(listener);
      return () => {
        subscribed--;
        return unsubscribe();
      };
    };
    const error = await startWebServer({ atelier: fakeAtelier(echoHandlers(), hub), rendererDir, port: busyPort }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AtelierError);
    expect(error).toMatchObject({ kind: 'invalid-config' });
    const message = (error as AtelierError).message;
    expect(message).toContain(`Port ${busyPort}`);
    expect(message).toContain('already in use');
    expect(message).toContain('--port 0');
    expect(message).not.toContain('`');
    // Nothing of the failed server stays subscribed to core events.
    expect(subscribed).toBe(0);
  });

  const root = process.getuid?.() === 0;
  it.skipIf(root)('a privileged port (not as root): says it needs administrator rights', async () => {
    const error = await startWebServer({ atelier: fakeAtelier(echoHandlers()), rendererDir, port: 1 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'invalid-config', message: expect.stringContaining('administrator rights') });
  });

  it('explains EACCES and other listen errors in words (root can bind port 1, so this checks the wording directly)', () => {
    const eacces = explainListenError(Object.assign(new Error('listen EACCES: permission denied 127.0.0.1:80'), { code: 'EACCES' }), 80);
    expect(eacces).toMatchObject({ kind: 'invalid-config', message: expect.stringMatching(/Port 80 .*administrator rights.*--port 0/) });
    const other = explainListenError(Object.assign(new Error('listen EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL' }), 8080);
    expect(other).toMatchObject({ kind: 'internal', message: expect.stringContaining('127.0.0.1:8080') });
  });
});

// ─── the real thing: an Atelier with its engine, training while the attacks go on ─────────────────

describe.skipIf(!haveData)(`browser shell with a real engine: training survives the attacks (needs ${FASHION_MNIST})`, () => {
  let home: string;
  let atelier: Atelier;
  let server: WebServer;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'atelier-web-training-'));
    atelier = createAtelier({ engineWorkerUrl: engineWorkerUrl(), home, preferBackend: 'wasm', datasetSources: { env: {}, systemDir: FASHION_MNIST } });
    server = await startWebServer({ atelier, rendererDir });
  });

  afterAll(async () => {
    await server?.close();
    await atelier?.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it('a training started before the attacks completes, and a good client is answered after each attack', async () => {
    const watcher = await connectClient(server);
    const config: TrainingConfig = {
      preset: 'tutorial-mlp', epochs: 2, batchSize: 32, learningRate: 0.001, hiddenUnits: 64, validationSplit: 0, seed: 1, trainLimit: 4000,
    };
    const started = await watcher.call(1, 'training.start', config);
    expect(started.result).toMatchObject({ ok: true });
    const runId = (started.result as { ok: true; value: { runId: string } }).value.runId;
    await watcher.event('training.batch');

    let id = 100;
    for (const { name, bytes } of ATTACKS.filter((candidate) => !candidate.sendsTheLimit)) {
      await attack(server, bytes(MAX_MESSAGE_BYTES));
      expect(uncaught, name).toEqual([]);
      const good = await connectClient(server);
      expect((await good.call(id++, 'training.state')).result, name).toMatchObject({ ok: true });
      good.socket.close();
    }
    await resetAfterUpgrade(server);

    const finished = (await watcher.event('training.finished', (payload) => (payload as EventPayload<'training.finished'>).runId === runId)) as EventPayload<'training.finished'>;
    expect(finished).toMatchObject({ runId, status: 'completed', error: null });
    const detail = await watcher.call(id++, 'runs.get', { runId });
    expect(detail.result).toMatchObject({ ok: true, value: { status: 'completed', epochsCompleted: 2 } });
  });
});
