/**
 * The browser shell's transport: the contract's verbs over one WebSocket to 127.0.0.1, with the
 * session token from the page URL. Calls wait for the connection; it reconnects with backoff.
 * Before each attempt it asks the server whether the token is good (a page cannot read why a
 * WebSocket was refused), so a wrong token ends in one clear state instead of endless retries.
 */
import { buildBridge, type AtelierBridge, type CallName, type CallResult, type EventName } from '../../../src-main/contract';
import { SESSION_PATH, type SessionAnswer } from '../../../src-main/web/wire';

export type ConnectionState = 'connecting' | 'open' | 'closed' | 'unauthorized';

/** What the page says when the server refuses its token. */
export const UNAUTHORIZED_MESSAGE =
  "This link's token is missing or no longer valid. Open the full URL printed by atelier serve (or npm start), including its ?token= part.";

const LOST_MESSAGE = 'Lost the connection to the Atelier server. Is atelier serve still running?';

/** The part of the WebSocket API the bridge uses (the browser's, or the ws package's in tests). */
export interface SocketLike {
  readonly readyState: number;
  send(text: string): void;
  close(): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
}

/** How the bridge reaches the server: the browser's WebSocket and fetch unless a test brings its own. */
export interface BridgeTransport {
  openSocket(url: string): SocketLike;
  fetch(url: string): Promise<{ ok: boolean; json(): Promise<unknown> }>;
}

/** The session check's URL for a socket URL: same host and token, over HTTP. */
export function sessionUrlFor(socketUrl: string): string {
  const url = new URL(socketUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = SESSION_PATH;
  return url.href;
}

interface Pending {
  text: string;
  sent: boolean;
  resolve: (result: CallResult<unknown>) => void;
}

const OPEN = 1;
const FIRST_RETRY_MS = 250;
const LAST_RETRY_MS = 8000;

export class WebSocketBridge {
  readonly bridge: AtelierBridge;
  #socket: SocketLike | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  #retryMs = FIRST_RETRY_MS;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #state: ConnectionState = 'connecting';
  #disposed = false;
  readonly #transport: BridgeTransport;
  onStateChange: (state: ConnectionState) => void = () => {};

  /**
   * `socketUrl` is ws://host/ws?token=…; `hasToken` is false when the page URL has none at all,
   * which needs no question to the server.
   */
  constructor(
    private readonly socketUrl: string,
    hasToken: boolean,
    transport: Partial<BridgeTransport> = {},
  ) {
    this.#transport = {
      openSocket: transport.openSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
      fetch: transport.fetch ?? ((url) => fetch(url, { cache: 'no-store' })),
    };
    this.bridge = buildBridge(
      (channel, input) => this.#invoke(channel, input),
      (event, listener) => this.#subscribe(event, listener),
    );
    if (hasToken) void this.#attempt();
    else this.#refuse();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Close the socket and stop reconnecting (tests; a page simply goes away). */
  dispose(): void {
    this.#disposed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#socket?.close();
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.onStateChange(state);
  }

  /** Resolves true or false when the server answered about the token, null when it could not be reached. */
  async #tokenAccepted(): Promise<boolean | null> {
    try {
      const response = await this.#transport.fetch(sessionUrlFor(this.socketUrl));
      if (!response.ok) return null;
      const answer = (await response.json()) as Partial<SessionAnswer> | null;
      return typeof answer?.authorized === 'boolean' ? answer.authorized : null;
    } catch {
      return null;
    }
  }

  async #attempt(): Promise<void> {
    if (this.#disposed) return;
    const accepted = await this.#tokenAccepted();
    if (this.#disposed) return;
    if (accepted === false) return this.#refuse();
    if (accepted === null) {
      this.#setState('closed');
      return this.#retryLater();
    }
    const socket = this.#transport.openSocket(this.socketUrl);
    this.#socket = socket;
    socket.onopen = () => {
      this.#retryMs = FIRST_RETRY_MS;
      this.#setState('open');
      for (const pending of this.#pending.values()) {
        if (pending.sent) continue;
        socket.send(pending.text);
        pending.sent = true;
      }
    };
    socket.onmessage = (event) => this.#onMessage(String(event.data));
    socket.onclose = () => {
      this.#socket = null;
      // Calls the server had: their answers are lost. Calls not sent yet wait for the next socket.
      for (const [id, pending] of this.#pending) {
        if (!pending.sent) continue;
        this.#pending.delete(id);
        pending.resolve({ ok: false, error: { kind: 'internal', message: LOST_MESSAGE } });
      }
      if (this.#disposed) return;
      this.#setState('closed');
      this.#retryLater();
    };
  }

  #retryLater(): void {
    this.#retryTimer = setTimeout(() => void this.#attempt(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, LAST_RETRY_MS);
  }

  /** The token will not get better by retrying: fail every call with one clear reason. */
  #refuse(): void {
    this.#setState('unauthorized');
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.resolve({ ok: false, error: { kind: 'unauthorized', message: UNAUTHORIZED_MESSAGE } });
    }
  }

  #onMessage(text: string): void {
    let message: { type?: string; id?: number | null; result?: CallResult<unknown>; name?: EventName; payload?: unknown };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === 'result' && typeof message.id === 'number' && message.result) {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      pending?.resolve(message.result);
    } else if (message.type === 'event' && message.name) {
      for (const listener of this.#listeners.get(message.name) ?? []) listener(message.payload);
    }
  }

  #invoke(channel: CallName, input: unknown): Promise<CallResult<unknown>> {
    if (this.#state === 'unauthorized') {
      return Promise.resolve({ ok: false, error: { kind: 'unauthorized', message: UNAUTHORIZED_MESSAGE } });
    }
    const id = this.#nextId++;
    const text = JSON.stringify({ type: 'call', id, channel, input });
    return new Promise((resolve) => {
      const pending: Pending = { text, sent: false, resolve };
      this.#pending.set(id, pending);
      if (this.#socket?.readyState === OPEN) {
        this.#socket.send(text);
        pending.sent = true;
      }
    });
  }

  #subscribe(event: EventName, listener: (payload: unknown) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
}
