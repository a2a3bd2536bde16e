/**
 * The engine worker: one long-lived worker thread that owns TensorFlow.js. Everything that
 * touches tensors (training, evaluation, prediction, export) runs here, as messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { AtelierError, toErrorInfo } from '../errors';
import { CLASS_NAMES, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { loadDataset, type FashionMnist } from '../dataset/store';
import type { DatasetSource } from '../dataset/sources';
import { score } from '../evaluation/metrics';
import type { EngineInfo } from '../../contract';
import { selectBackend } from './backends';
import { benchTraining } from './bench';
import { describeModel } from './inspect';
import { buildModel, describePresets, disposeModel, loadModelForTeaching, teachingProblem } from './models';
import { loadModel, saveModel } from './model-io';
import { occlusionMapsOfModel } from './occlusion';
import { gatherPixels, predictProbabilities } from './tensors';
import { trainModel } from './train';
import { resumeFromCheckpoint, saveCheckpoint } from './checkpoint-state';
import { findLearningRate } from './lr-finder';
import { defaultTrainingThreads } from './wasm-kernels/dense-step';
import { registerWasmTrainingKernels } from './wasm-kernels';
import { defaultParallelThreads } from './parallel/trainer';
import type { EngineEventName, EngineEvents, EngineMethods, EngineReply, EngineRequest, EngineWorkerOptions, TestEvaluation } from './protocol';

if (!parentPort) throw new Error('The engine worker must run in a worker thread.');
const port = parentPort;
const options = (workerData ?? { preferBackend: null }) as EngineWorkerOptions;

function post(message: EngineReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function emit<E extends EngineEventName>(name: E, payload: EngineEvents[E]): void {
  post({ type: 'event', name, payload } as EngineReply);
}

const ready: Promise<EngineInfo> = selectBackend(options.preferBackend).then((info) => {
  if (info.backend === 'wasm') {
    const registration = registerWasmTrainingKernels(tf);
    info.features.trainingKernels = registration.replaced.length + registration.added.length;
    // Threads the fused Dense step (tutorial MLP) trains with (wasm-kernels/dense-step.ts).
    info.features.denseStepThreads = defaultTrainingThreads();
    // Threads the parallel trainer (CNNs) trains with (parallel/trainer.ts).
    info.features.cnnTrainingThreads = defaultParallelThreads();
  }
  emit('engine.status', info);
  return info;
});

/** Datasets by folder, loaded once and shared by every request. */
const datasets = new Map<string, Promise<FashionMnist>>();
function dataset(source: DatasetSource): Promise<FashionMnist> {
  let loading = datasets.get(source.dir);
  if (!loading) {
    loading = loadDataset(source);
    loading.catch(() => datasets.delete(source.dir));
    datasets.set(source.dir, loading);
  }
  return loading;
}

/** Loaded models by folder; a folder's model is reloaded when it was saved again. */
const models = new Map<string, tf.LayersModel>();
async function modelFor(dir: string): Promise<tf.LayersModel> {
  const cached = models.get(dir);
  if (cached) return cached;
  const model = await loadModel(tf, dir);
  if (models.size >= 3) {
    const [oldestDir, oldest] = models.entries().next().value as [string, tf.LayersModel];
    oldest.dispose();
    models.delete(oldestDir);
  }
  models.set(dir, model);
  return model;
}
function forgetModel(dir: string): void {
  models.get(dir)?.dispose();
  models.delete(dir);
}

async function evaluateOnTest(model: tf.LayersModel, data: FashionMnist): Promise<TestEvaluation> {
  const test = data.test;
  const identity = { length: test.count } as ArrayLike<number>;
  const indices = new Proxy(identity, { get: (target, key) => (key === 'length' ? target.length : Number(key)) });
  const probabilities = await predictProbabilities(tf, model, test.count, (start, end) => gatherPixels(test.images, indices, start, end));
  return { scores: score(probabilities, test.labels, CLASS_NAMES), probabilities, testCount: test.count };
}

type MethodHandlers = {
  [M in keyof EngineMethods]: (params: EngineMethods[M]['params']) => Promise<EngineMethods[M]['result']>;
};

let training = false;

const methods: MethodHandlers = {
  info: async () => ready,
  presets: async () => describePresets(tf),
  memory: async () => {
    const memory = tf.memory();
    return { numTensors: memory.numTensors, numBytes: memory.numBytes };
  },
  train: async ({ runId, modelDir, source, config, stopFlag, extra, initialModelDir, checkpoints }) => {
    if (training) throw new AtelierError('busy', 'A training is already running in the engine.');
    training = true;
    const stop = new Int32Array(stopFlag);
    let model: tf.LayersModel | null = null;
    let data: FashionMnist;
    let resumed: Awaited<ReturnType<typeof resumeFromCheckpoint>> | null = null;
    try {
      data = await dataset(source);
      // A resumed run rebuilds its own layers from its model folder, then takes the checkpoint's weights and Adam state.
      const from = checkpoints?.resumeFrom ? modelDir : initialModelDir;
      model = from ? await loadModelForTeaching(tf, from, config) : buildModel(tf, config);
      if (checkpoints?.resumeFrom) resumed = await resumeFromCheckpoint(tf, model, checkpoints.runDir, checkpoints.resumeFrom);
      // Train more: early stopping's patience counts from the first new epoch (the best so far is still remembered).
      if (resumed?.point.earlyStopping && checkpoints?.trainMore) resumed.point.earlyStopping = { ...resumed.point.earlyStopping, epochsSinceBest: 0 };
    } catch (error) {
      if (model) disposeModel(model);
      training = false;
      throw error;
    }
    forgetModel(modelDir);
    try {
      const outcome = await trainModel(tf, model, config, data.train, {
        shouldStop: () => Atomics.load(stop, 0) !== 0,
        onBatch: (report) => emit('training.batch', { runId, epochs: config.epochs, ...report }),
        onEpoch: async (metrics, state) => {
          await saveModel(tf, model, modelDir, `e${metrics.epoch}`);
          if (checkpoints) await saveCheckpoint(tf, model, checkpoints.runDir, metrics, state);
          emit('training.epoch', { runId, epochs: config.epochs, ...metrics });
        },
      }, {
        extra: extra ?? null,
        resume: resumed?.point ?? null,
        scheduleFromEpoch: checkpoints?.scheduleFromEpoch ?? resumed?.scheduleFromEpoch ?? 1,
      });
      // Early stopping gave the model the best epoch's weights: that is the model the run keeps.
      if (outcome.earlyStop) await saveModel(tf, model, modelDir, `e${outcome.earlyStop.bestEpoch}-best`);
      let evaluation: TestEvaluation | null = null;
      if (outcome.epochsCompleted > 0) {
        // A stopped run is judged by the model of its last finished epoch, as saved.
        const judged = outcome.stopped ? await loadModel(tf, modelDir) : model;
        try {
          evaluation = await evaluateOnTest(judged, data);
        } finally {
          if (judged !== model) judged.dispose();
        }
      }
      return { epochsCompleted: outcome.epochsCompleted, stopped: outcome.stopped, earlyStop: outcome.earlyStop, metrics: outcome.metrics, evaluation };
    } finally {
      disposeModel(model);
      training = false;
    }
  },
  findLearningRate: async ({ source, config, batches }) => {
    if (training) throw new AtelierError('busy', 'A training is running in the engine; find a learning rate when it has finished.');
    training = true;
    try {
      const data = await dataset(source);
      const model = buildModel(tf, config);
      try {
        return await findLearningRate(tf, model, config, data.train, batches === undefined ? {} : { batches });
      } finally {
        disposeModel(model);
      }
    } finally {
      training = false;
    }
  },
  teachable: async ({ modelDir }) => {
    const model = await loadModel(tf, modelDir);
    try {
      return { problem: teachingProblem(model) };
    } finally {
      model.dispose();
    }
  },
  evaluate: async ({ modelDir, source }) => {
    const [model, data] = await Promise.all([modelFor(modelDir), dataset(source)]);
    return evaluateOnTest(model, data);
  },
  predict: async ({ modelDir, pixels }) => {
    if (pixels.length % PIXELS_PER_IMAGE !== 0) {
      throw new AtelierError('invalid-payload', `Expected a multiple of ${PIXELS_PER_IMAGE} pixels, got ${pixels.length}.`);
    }
    const model = await modelFor(modelDir);
    const count = pixels.length / PIXELS_PER_IMAGE;
    const probabilities = await predictProbabilities(tf, model, count, (start, end) => pixels.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE));
    return { probabilities };
  },
  occlusion: async ({ modelDir, pixels, patch, stride }) => {
    if (pixels.length % PIXELS_PER_IMAGE !== 0) {
      throw new AtelierError('invalid-payload', `Expected a multiple of ${PIXELS_PER_IMAGE} pixels, got ${pixels.length}.`);
    }
    const found = await occlusionMapsOfModel(tf, await modelFor(modelDir), pixels, { patch, stride });
    const maps = new Float32Array(found.length * PIXELS_PER_IMAGE);
    found.forEach((one, i) => maps.set(one.map, i * PIXELS_PER_IMAGE));
    return { maps, classIndex: Int32Array.from(found, (one) => one.classIndex), probability: Float32Array.from(found, (one) => one.probability) };
  },
  bench: async ({ source, ...params }) => {
    if (training) throw new AtelierError('busy', 'A training is running in the engine; benchmark when it has finished.');
    training = true;
    try {
      const data = await dataset(source);
      return await benchTraining(tf, data.train, data.test, params);
    } finally {
      training = false;
    }
  },
  inspect: async ({ modelDir, includeWeights, probe }) => {
    const model = await loadModel(tf, modelDir);
    try {
      return await describeModel(tf, model, includeWeights, probe);
    } finally {
      model.dispose();
    }
  },
};

/** Typed arrays in a result travel without a copy. */
function transferablesOf(value: unknown): ArrayBuffer[] {
  const found: ArrayBuffer[] = [];
  const visit = (node: unknown, depth: number): void => {
    if (depth > 3 || !node || typeof node !== 'object') return;
    if (ArrayBuffer.isView(node)) {
      if (node.buffer instanceof ArrayBuffer && node.byteLength === node.buffer.byteLength && !found.includes(node.buffer)) found.push(node.buffer);
      return;
    }
    for (const child of Object.values(node)) visit(child, depth + 1);
  };
  visit(value, 0);
  return found;
}

port.on('message', async (request: EngineRequest) => {
  try {
    await ready;
    const handler = methods[request.method] as (params: unknown) => Promise<unknown>;
    if (!handler) throw new Error(`Unknown engine method "${String(request.method)}"`);
    const value = await handler(request.params);
    post({ type: 'result', id: request.id, ok: true, value }, transferablesOf(value));
  } catch (error) {
    post({ type: 'result', id: request.id, ok: false, error: toErrorInfo(error) });
  }
});
