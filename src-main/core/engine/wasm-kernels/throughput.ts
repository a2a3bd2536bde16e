import type * as tfNamespace from '@tensorflow/tfjs';
import type { FashionMnistSample } from './fashion-mnist-sample.js';
import { cnnPreset, tutorialMlp } from './reference-models.js';
import { PIXELS_PER_IMAGE } from '../../fashion-mnist';

type Tf = typeof tfNamespace;

/** Which reference model to time. */
export type ReferenceModel = 'mlp' | 'cnn';

export interface ThroughputOptions {
  model: ReferenceModel;
  /** Images in the timed slice of an epoch (the sample must hold at least this many). */
  samples: number;
  batchSize?: number;
  /** Untimed batches first: XNNPACK and V8 warm up, Adam creates its state. */
  warmupBatches?: number;
}

export interface ThroughputResult {
  model: ReferenceModel;
  backend: string;
  samplesPerSecond: number;
  seconds: number;
  /**
   * Samples per second of this process's CPU time (all threads). Less sensitive than wall time
   * to other processes sharing the cores; with one busy thread the two agree.
   */
  samplesPerCpuSecond: number;
  /** Mean training loss over the timed batches (a sanity check that it trained). */
  meanLoss: number;
}

/**
 * Trains a fresh reference model with `trainOnBatch` on consecutive batches built from plain
 * arrays — the way the engine's training loop feeds it — and reports samples per second on the
 * current backend. The caller picks the backend and registers (or not) the wasm kernels.
 */
export async function measureTrainingThroughput(tf: Tf, data: FashionMnistSample, options: ThroughputOptions): Promise<ThroughputResult> {
  const batchSize = options.batchSize ?? 32;
  const warmup = options.warmupBatches ?? 5;
  if (options.samples > data.count) throw new Error(`measureTrainingThroughput: ${options.samples} samples asked, the sample holds ${data.count}`);
  const model = options.model === 'mlp' ? tutorialMlp(tf) : cnnPreset(tf);
  const shape = options.model === 'mlp' ? [28, 28] : [28, 28, 1];
  const step = async (index: number): Promise<number> => {
    const start = (index * batchSize) % Math.max(1, data.count - batchSize + 1);
    const xs = tf.tensor(data.images.subarray(start * PIXELS_PER_IMAGE, (start + batchSize) * PIXELS_PER_IMAGE), [batchSize, ...shape]);
    const ys = tf.tensor2d(data.labels.subarray(start, start + batchSize), [batchSize, 1]);
    try {
      const result = await model.trainOnBatch(xs, ys);
      return Array.isArray(result) ? result[0]! : result;
    } finally {
      tf.dispose([xs, ys]);
    }
  };
  try {
    for (let i = 0; i < warmup; i++) await step(i);
    const batches = Math.max(1, Math.floor(options.samples / batchSize));
    let lossSum = 0;
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    for (let i = 0; i < batches; i++) lossSum += await step(warmup + i);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    return {
      model: options.model,
      backend: tf.getBackend(),
      samplesPerSecond: (batches * batchSize) / seconds,
      seconds,
      samplesPerCpuSecond: (batches * batchSize) / ((cpu.user + cpu.system) / 1e6),
      meanLoss: lossSum / batches,
    };
  } finally {
    // model.dispose() keeps an optimizer that was passed in as an object (Adam's moments).
    model.optimizer.dispose();
    model.dispose();
  }
}
