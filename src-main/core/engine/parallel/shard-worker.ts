/**
 * A helper thread of the parallel trainer: its own TensorFlow.js on the wasm backend (with
 * Atelier's training kernels) and its own copy of the model, rebuilt from the topology. Each step
 * it loads the step's weights from shared memory when they changed, computes the gradients of its
 * shards into their slots, and answers with the shards' losses.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../wasm-kernels';
import type { ShardReply, ShardRequest, ShardWorkerData } from './protocol';
import { lowerThreadPriority } from './priority';
import { runShards, SharedTrainingMemory } from './shared-memory';
import { modelWeights, plainFirstConvolution, seededDropouts, writeWeights } from './shard-step';

if (!parentPort) throw new Error('The training helper must run in a worker thread.');
const port = parentPort;
const data = workerData as ShardWorkerData;
const post = (reply: ShardReply): void => port.postMessage(reply);

lowerThreadPriority(data.niceness);

try {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  registerWasmTrainingKernels(tf);
  const model = await tf.models.modelFromJSON(JSON.parse(data.topology) as tf.io.ModelJSON);
  plainFirstConvolution(model, tf);
  const weights = modelWeights(model);
  const dropouts = seededDropouts(model);
  const memory = new SharedTrainingMemory(data.buffers, weights);
  let version = -1;
  port.on('message', (request: ShardRequest) => {
    try {
      if (request.version !== version) {
        writeWeights(tf, weights.all, memory.weights);
        version = request.version;
      }
      post({ type: 'done', results: runShards(tf, model, weights, dropouts, memory, request) });
    } catch (error) {
      post({ type: 'error', message: (error as Error).message });
    }
  });
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'error', message: `the training helper could not start: ${(error as Error).message}` });
}
