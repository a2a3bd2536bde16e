/**
 * The engine worker: one long-lived worker thread that owns TensorFlow.js. Everything that
 * touches tensors (training, evaluation, prediction, export) runs here, as messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toErrorInfo } from '../errors';
import { selectBackend } from './backends';
import type { EngineInfo } from '../../contract';
import type { EngineMethods, EngineReply, EngineRequest, EngineWorkerOptions } from './protocol';

if (!parentPort) throw new Error('The engine worker must run in a worker thread.');
const port = parentPort;
const options = (workerData ?? { preferBackend: null }) as EngineWorkerOptions;

function post(message: EngineReply): void {
  port.postMessage(message);
}

const ready: Promise<EngineInfo> = selectBackend(options.preferBackend).then((info) => {
  post({ type: 'event', name: 'engine.status', payload: info });
  return info;
});

type MethodHandlers = {
  [M in keyof EngineMethods]: (params: EngineMethods[M]['params']) => Promise<EngineMethods[M]['result']>;
};

const methods: MethodHandlers = {
  info: async () => ready,
};

port.on('message', async (request: EngineRequest) => {
  try {
    await ready;
    const handler = methods[request.method] as (params: unknown) => Promise<unknown>;
    if (!handler) throw new Error(`Unknown engine method "${String(request.method)}"`);
    const value = await handler(request.params);
    post({ type: 'result', id: request.id, ok: true, value });
  } catch (error) {
    post({ type: 'result', id: request.id, ok: false, error: toErrorInfo(error) });
  }
});
