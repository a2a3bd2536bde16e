import { afterEach, describe, expect, it } from 'vitest';
import { UNAUTHORIZED_MESSAGE, WebSocketBridge, sessionUrlFor, type BridgeTransport, type ConnectionState, type SocketLike } from './ws-bridge';

/** A socket the test opens, answers and closes by hand. */
class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: Array<{ id: number; channel: string }> = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(text: string): void {
    this.sent.push(JSON.parse(text));
  }
  close(): void {
    this.drop();
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  answer(id: number, value: unknown): void {
    this.onmessage?.({ data: JSON.stringify({ type: 'result', id, result: { ok: true, value } }) });
  }
  drop(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({});
  }
}

const bridges: WebSocketBridge[] = [];
afterEach(() => {
  for (const bridge of bridges.splice(0)) bridge.dispose();
});

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** A bridge whose session check answers `authorized` (null: the server cannot be reached). */
function setup(token: string | null, authorized: () => boolean | null) {
  const sockets: FakeSocket[] = [];
  const checked: string[] = [];
  const transport: BridgeTransport = {
    openSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    fetch: async (url) => {
      checked.push(url);
      const answer = authorized();
      if (answer === null) throw new TypeError('Failed to fetch');
      return { ok: true, json: async () => ({ authorized: answer }) };
    },
  };
  const states: ConnectionState[] = [];
  const bridge = new WebSocketBridge(`ws://127.0.0.1:4000/ws?token=${token ?? ''}`, token !== null, transport);
  bridges.push(bridge);
  states.push(bridge.state);
  bridge.onStateChange = (state) => states.push(state);
  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition()) await tick();
  };
  return { bridge, sockets, checked, states, until };
}

describe('WebSocketBridge', () => {
  it('checks the token at /session on the same host, over HTTP', () => {
    expect(sessionUrlFor('ws://127.0.0.1:4000/ws?token=abc')).toBe('http://127.0.0.1:4000/session?token=abc');
    expect(sessionUrlFor('wss://example.test/ws?token=a%2Bb')).toBe('https://example.test/session?token=a%2Bb');
  });

  it('with a good token: opens the socket, sends calls made before it opened, and answers them', async () => {
    const { bridge, sockets, checked, states, until } = setup('good', () => true);
    const answer = bridge.bridge.system.info({});
    await until(() => sockets.length === 1);
    expect(checked).toEqual(['http://127.0.0.1:4000/session?token=good']);
    sockets[0]!.open();
    expect(sockets[0]!.sent).toEqual([{ type: 'call', id: 1, channel: 'system.info', input: {} }]);
    sockets[0]!.answer(1, { shell: 'browser' });
    expect(await answer).toEqual({ ok: true, value: { shell: 'browser' } });
    expect(states).toEqual(['connecting', 'open']);
  });

  it('with a wrong token: says unauthorized once, opens no socket, and fails every call at once', async () => {
    const { bridge, sockets, states, until } = setup('stale', () => false);
    const early = bridge.bridge.system.info({});
    await until(() => bridge.state === 'unauthorized');
    const late = await bridge.bridge.runs.list({});
    for (const result of [await early, late]) expect(result).toEqual({ ok: false, error: { kind: 'unauthorized', message: UNAUTHORIZED_MESSAGE } });
    expect(sockets).toHaveLength(0);
    expect(states).toEqual(['connecting', 'unauthorized']);
    expect(UNAUTHORIZED_MESSAGE).toMatch(/token/);
    expect(UNAUTHORIZED_MESSAGE).not.toContain('`');
  });

  it('without a token: unauthorized from the start, without asking the server', async () => {
    const { bridge, checked, states } = setup(null, () => true);
    expect(bridge.state).toBe('unauthorized');
    expect(await bridge.bridge.system.info({})).toMatchObject({ ok: false, error: { kind: 'unauthorized' } });
    expect(checked).toEqual([]);
    expect(states).toEqual(['unauthorized']);
  });

  it('a lost connection fails only the calls the server had, keeps the unsent ones, and a restart with another token ends in unauthorized', async () => {
    let authorized: boolean | null = true;
    const { bridge, sockets, states, until } = setup('good', () => authorized);
    await until(() => sockets.length === 1);
    sockets[0]!.open();
    const sent = bridge.bridge.system.info({});
    authorized = null; // the server is gone
    sockets[0]!.drop();
    const lost = await sent;
    expect(lost).toMatchObject({ ok: false, error: { kind: 'internal', message: expect.stringContaining('Lost the connection') } });
    if (!lost.ok) expect(lost.error.message).not.toContain('`');
    expect(bridge.state).toBe('closed');

    // Made while disconnected: it waits instead of failing.
    let waitingSettled = false;
    const waiting = bridge.bridge.runs.list({}).then((result) => ((waitingSettled = true), result));
    await tick();
    expect(waitingSettled).toBe(false);

    // The server comes back with a new token: the page's link is stale, and the waiting call says so.
    authorized = false;
    await until(() => bridge.state === 'unauthorized');
    expect(await waiting).toMatchObject({ ok: false, error: { kind: 'unauthorized' } });
    expect(sockets).toHaveLength(1);
    expect(states).toEqual(['connecting', 'open', 'closed', 'unauthorized']);
  });
});
