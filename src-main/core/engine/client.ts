/**
 * The main-thread side of the engine: starts the worker, sends typed requests, routes events,
 * and survives the worker dying (pending calls fail with `engine-crashed`; the next call starts
 * a fresh worker).
 */
import { Worker } from 'node:worker_threads';
import { AtelierError, fromErrorInfo } from '../errors';
import { sourceWorkerBootstrap } from './worker-source';
import type { EngineInfo } from '../../contract';
import type { EngineEventName, EngineEvents, EngineMethod, EngineMethods, EngineReply, EngineRequest } from './protocol';

export interface EngineClientOptions {
  /** The built worker (`out/main/engine-worker.js`) or, in tests, `worker.ts` run through tsx. */
  workerUrl: URL;
  /** Force a backend (ATELIER_BACKEND); null walks the whole ladder. */
  preferBackend?: string | null;
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void; method: EngineMethod };
type EngineListener = <E extends EngineEventName>(name: E, payload: EngineEvents[E]) => void;

export class EngineClient {
  readonly #options: EngineClientOptions;
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<EngineListener>();
  #lastInfo: EngineInfo | null = null;
  #exitListeners = new Set<(reason: string) => void>();

  constructor(options: EngineClientOptions) {
    this.#options = options;
  }

  /** The most recent backend report, or null before the worker has reported. */
  get lastInfo(): EngineInfo | null {
    return this.#lastInfo;
  }

  get running(): boolean {
    return this.#worker !== null;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const workerData = { preferBackend: this.#options.preferBackend ?? null };
    const worker = this.#options.workerUrl.pathname.endsWith('.ts')
      ? new Worker(sourceWorkerBootstrap(this.#options.workerUrl), { eval: true, workerData, execArgv: [] })
      : new Worker(this.#options.workerUrl, { workerData, execArgv: [] });
    worker.on('message', (message: EngineReply) => this.#onMessage(message));
    worker.on('error', (error) => this.#onExit(worker, `the engine worker crashed: ${error.message}`));
    worker.on('exit', (code) => this.#onExit(worker, `the engine worker stopped (exit code ${code})`));
    this.#worker = worker;
    return worker;
  }

  #onMessage(message: EngineReply): void {
    if (message.type === 'event') {
      if (message.name === 'engine.status') this.#lastInfo = message.payload;
      for (const listener of this.#listeners) listener(message.name, message.payload);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (message.ok) pending.resolve(message.value);
    else pending.reject(fromErrorInfo(message.error));
  }

  #onExit(worker: Worker, reason: string): void {
    // A dead worker's 'exit' follows its 'error'; by then a caller may already run a fresh one.
    if (this.#worker !== worker) return;
    this.#worker = null;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(new AtelierError('engine-crashed', `The training engine stopped unexpectedly while running "${pending.method}": ${reason}. It restarts on the next action.`));
    }
    for (const listener of this.#exitListeners) listener(reason);
  }

  /** Send one request to the worker and wait for its result. */
  request<M extends EngineMethod>(method: M, params: EngineMethods[M]['params']): Promise<EngineMethods[M]['result']> {
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, method });
      const message = { type: 'request', id, method, params } as EngineRequest;
      worker.postMessage(message);
    });
  }

  /** Backend facts; starts the worker if needed. */
  info(): Promise<EngineInfo> {
    return this.request('info', {});
  }

  /** Subscribe to worker events; returns the unsubscribe function. */
  onEvent(listener: EngineListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called when the worker dies or is terminated; returns the unsubscribe function. */
  onExit(listener: (reason: string) => void): () => void {
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  /** Kill the worker now (used on quit, and by tests that simulate a crash). */
  async terminate(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    await worker.terminate();
    this.#onExit(worker, 'the engine worker was terminated');
  }
}
