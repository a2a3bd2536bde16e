/**
 * The browser shell's transport: the contract's verbs over one WebSocket to 127.0.0.1, with the
 * session token from the page URL. Calls wait for the connection; it reconnects with backoff.
 */
import { buildBridge, type AtelierBridge, type CallName, type CallResult, type EventName } from '../../../src-main/contract';

export type ConnectionState = 'connecting' | 'open' | 'closed' | 'unauthorized';

interface Pending {
  resolve: (result: CallResult<unknown>) => void;
}

export class WebSocketBridge {
  readonly bridge: AtelierBridge;
  #socket: WebSocket | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #queue: string[] = [];
  readonly #listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  #retryMs = 250;
  #state: ConnectionState = 'connecting';
  onStateChange: (state: ConnectionState) => void = () => {};

  constructor(
    private readonly url: string,
    hasToken: boolean,
  ) {
    this.bridge = buildBridge(
      (channel, input) => this.#invoke(channel, input),
      (event, listener) => this.#subscribe(event, listener),
    );
    // Without a token the server will refuse us: say so at once instead of retrying forever.
    if (hasToken) this.#connect();
    else this.#state = 'unauthorized';
  }

  get state(): ConnectionState {
    return this.#state;
  }

  #setState(state: ConnectionState): void {
    this.#state = state;
    this.onStateChange(state);
  }

  #connect(): void {
    this.#setState('connecting');
    const socket = new WebSocket(this.url);
    let opened = false;
    this.#socket = socket;
    socket.onopen = () => {
      opened = true;
      this.#retryMs = 250;
      this.#setState('open');
      for (const message of this.#queue.splice(0)) socket.send(message);
    };
    socket.onmessage = (event) => this.#onMessage(String(event.data));
    socket.onclose = () => {
      this.#socket = null;
      for (const [id, pending] of this.#pending) {
        this.#pending.delete(id);
        pending.resolve({ ok: false, error: { kind: 'internal', message: 'Lost the connection to the Atelier server. Is `atelier serve` still running?' } });
      }
      if (!opened && this.#retryMs >= 4000) {
        // Never got in after several tries: most likely a wrong or missing token.
        this.#setState('unauthorized');
      } else {
        this.#setState('closed');
      }
      setTimeout(() => this.#connect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, 8000);
    };
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
    const id = this.#nextId++;
    const text = JSON.stringify({ type: 'call', id, channel, input });
    return new Promise((resolve) => {
      this.#pending.set(id, { resolve });
      if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(text);
      else this.#queue.push(text);
    });
  }

  #subscribe(event: EventName, listener: (payload: unknown) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
}
