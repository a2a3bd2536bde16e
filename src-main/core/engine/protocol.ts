/**
 * Messages between the engine client (main thread) and the engine worker (the only TensorFlow.js
 * user). Requests carry an id; the worker answers each with exactly one `result` message, and may
 * send `event` messages at any time.
 */
import type { EngineInfo, EventName, EventPayload } from '../../contract';
import type { ErrorInfo } from '../errors';

/** Method → params → result. Later features add methods here. */
export interface EngineMethods {
  info: { params: Record<string, never>; result: EngineInfo };
}
export type EngineMethod = keyof EngineMethods;

/** Events the worker pushes while it works: a subset of the contract's events, forwarded as is. */
export type EngineEventName = Extract<EventName, 'engine.status'>;
export type EngineEvents = { [E in EngineEventName]: EventPayload<E> };

export type EngineRequest = {
  [M in EngineMethod]: { type: 'request'; id: number; method: M; params: EngineMethods[M]['params'] };
}[EngineMethod];

export type EngineReply =
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: ErrorInfo }
  | { [E in EngineEventName]: { type: 'event'; name: E; payload: EngineEvents[E] } }[EngineEventName];

/** Options the client passes to a new worker through `workerData`. */
export interface EngineWorkerOptions {
  /** Force a rung of the ladder (skips the ones above it), e.g. from ATELIER_BACKEND. */
  preferBackend: string | null;
}
