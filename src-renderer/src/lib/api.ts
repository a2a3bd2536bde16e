/**
 * The renderer's single door to the core. In Electron it is the preload's bridge; in a browser it
 * is the WebSocket bridge. Calls throw `ApiError` (with the core's error kind) instead of
 * returning results, so views can `try`/`catch` and show `message` as is.
 */
import type { AtelierBridge, CallResult } from '../../../src-main/contract';
import type { ErrorKind } from '../../../src-main/core/errors';
import { WebSocketBridge, type ConnectionState } from './ws-bridge';

export class ApiError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What went wrong, as a kind and a message a person can read, whatever was thrown. */
export function errorInfo(caught: unknown): { kind: ErrorKind; message: string } {
  if (caught instanceof ApiError) return { kind: caught.kind, message: caught.message };
  return { kind: 'internal', message: errorMessage(caught) };
}

/** The message of whatever was thrown: the core's own words for an ApiError, the text of anything else. */
export function errorMessage(caught: unknown): string {
  if (caught instanceof Error) return caught.message;
  return typeof caught === 'string' ? caught : String(caught);
}

export async function unwrap<T>(pending: Promise<CallResult<T>>): Promise<T> {
  const result = await pending;
  if (result.ok) return result.value;
  throw new ApiError(result.error.kind, result.error.message);
}

export interface Connection {
  bridge: AtelierBridge;
  shell: 'electron' | 'browser';
  /** Browser shell only: socket state changes. */
  onState(listener: (state: ConnectionState) => void): void;
}

export function connect(): Connection {
  if (window.atelier) {
    return { bridge: window.atelier, shell: 'electron', onState: (listener) => listener('open') };
  }
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocketBridge(`${protocol}//${location.host}/ws?token=${encodeURIComponent(token)}`, token !== '');
  return {
    bridge: socket.bridge,
    shell: 'browser',
    onState: (listener) => {
      socket.onStateChange = listener;
      listener(socket.state);
    },
  };
}
