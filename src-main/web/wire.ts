/**
 * The browser shell's WebSocket wire format, shared by the server and the renderer's client.
 * Client → server: `call`. Server → client: `result` (one per call) and `event`.
 */
import { z } from 'zod';

export const ClientMessageSchema = z.object({
  type: z.literal('call'),
  id: z.number().int().nonnegative(),
  channel: z.string().max(100),
  input: z.unknown(),
});
export type ClientMessage = z.infer<typeof ClientMessageSchema>;

export type ServerMessage =
  | { type: 'result'; id: number | null; result: { ok: true; value: unknown } | { ok: false; error: { kind: string; message: string } } }
  | { type: 'event'; name: string; payload: unknown };

/** Query parameter that carries the session token in the page URL and the WebSocket URL. */
export const TOKEN_PARAM = 'token';
export const WS_PATH = '/ws';
/**
 * GET SESSION_PATH?token=… answers {"authorized": true|false}. A page cannot read the status with
 * which the server refused its WebSocket, so it asks here to tell a wrong token from a server
 * that is down.
 */
export const SESSION_PATH = '/session';
export interface SessionAnswer {
  authorized: boolean;
}
