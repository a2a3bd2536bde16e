/**
 * The engine's half of `atelier bench`: train a fresh preset model with the same loop the app
 * uses (`trainModel`, batches gathered from the dataset's bytes) and report how fast it went and
 * how much memory it took. Runs inside the engine worker; the orchestration lives in core/bench.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { EpochMetrics, TrainingConfig } from '../../contract';
import type { Split } from '../dataset/store';
import { buildModel } from './models';
import { saveModel } from './model-io';
import { gatherLabels, gatherPixels, inputTensor, predictProbabilities } from './tensors';
import { splitIndices, trainModel, type TrainingStepper } from './train';

type Tf = typeof tfType;

export interface BenchTrainingParams {
  /** The model and loop settings; `trainLimit` picks the slice (the first N training images). */
  config: TrainingConfig;
  /**
   * Untimed batches on a throwaway model of the same config first, so one-off costs (V8 and
   * XNNPACK warm-up, wasm heap growth) stay out of the timed model's epochs.
   */
  warmupBatches: number;
  /** Score the trained model on the 10,000 test images at the end. */
  evaluate: boolean;
  /** Save the trained model here (e.g. for the photo-latency measurement); null keeps it in memory only. */
  modelDir: string | null;
  /**
   * Score the model on the test set after every epoch too (time to accuracy); the scoring is not
   * part of the epochs' seconds. `testLimit` scores on the first N test images only (tests).
   */
  evaluateEachEpoch?: boolean;
  testLimit?: number | null;
  /** Threads for the parallel trainer (CNNs on wasm); default every core. */
  threads?: number;
}

export interface BenchTrainingResult {
  backend: string;
  /** Images trained per epoch. */
  samplesPerEpoch: number;
  /** Every epoch as the training loop measured it (seconds and samples/s exclude saving and testing). */
  epochs: EpochMetrics[];
  /** CPU time of the whole process (every thread) during each epoch. */
  epochCpuSeconds: number[];
  /** Test-set accuracy after the last epoch, or null when not asked for. */
  testAccuracy: number | null;
  /** Test-set accuracy after each epoch (`evaluateEachEpoch`), else empty. */
  testAccuracyByEpoch: number[];
  /** Largest `tf.memory().numBytes` seen inside one training step (weights, Adam state, activations, gradients). */
  peakTensorBytes: number;
  /** Size of the wasm backend's heap at the end (it only grows), or null on other backends. */
  wasmHeapBytes: number | null;
  /** Whether the batches went through the fused Dense step or `trainOnBatch`. */
  stepper: TrainingStepper;
}

const inOrder = (count: number): Uint32Array => Uint32Array.from({ length: count }, (_, i) => i);

/** One batch of the first images, for warming up. */
async function trainOneBatch(tf: Tf, model: tfType.LayersModel, data: Split, batch: number, batchSize: number): Promise<void> {
  const inputShape = (model.inputs[0]!.shape as (number | null)[]).slice(1) as number[];
  const start = (batch * batchSize) % Math.max(1, data.count - batchSize);
  const indices = inOrder(data.count);
  const xs = inputTensor(tf, gatherPixels(data.images, indices, start, start + batchSize), inputShape);
  const ys = tf.tensor2d(gatherLabels(data.labels, indices, start, start + batchSize), [batchSize, 1], 'float32');
  try {
    await model.trainOnBatch(xs, ys);
  } finally {
    tf.dispose([xs, ys]);
  }
}

function wasmHeapBytes(tf: Tf): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

/** Accuracy on the first `limit` test images (all when null). */
async function testAccuracyOf(tf: Tf, model: tfType.LayersModel, test: Split, limit: number | null): Promise<number> {
  const count = Math.min(test.count, limit ?? test.count);
  const indices = inOrder(count);
  const probabilities = await predictProbabilities(tf, model, count, (start, end) => gatherPixels(test.images, indices, start, end));
  let correct = 0;
  for (let i = 0; i < count; i++) {
    const row = probabilities.subarray(i * 10, i * 10 + 10);
    let best = 0;
    for (let c = 1; c < 10; c++) if (row[c]! > row[best]!) best = c;
    if (best === test.labels[i]) correct++;
  }
  return correct / count;
}

/** Train, time and measure one preset on `train`; every tensor it makes is gone when it returns. */
export async function benchTraining(tf: Tf, train: Split, test: Split, params: BenchTrainingParams): Promise<BenchTrainingResult> {
  const { config } = params;
  let peakTensorBytes = tf.memory().numBytes;
  if (params.warmupBatches > 0) {
    const throwaway = buildModel(tf, config);
    try {
      for (let i = 0; i < params.warmupBatches - 1; i++) await trainOneBatch(tf, throwaway, train, i, config.batchSize);
      // Profile one step: its peak counts the activations and gradients that live only inside it.
      const profile = await tf.profile(() => trainOneBatch(tf, throwaway, train, params.warmupBatches, config.batchSize));
      peakTensorBytes = Math.max(peakTensorBytes, profile.peakBytes);
    } finally {
      throwaway.optimizer.dispose();
      throwaway.dispose();
    }
  }

  const model = buildModel(tf, config);
  try {
    const epochCpuSeconds: number[] = [];
    let cpuStart = process.cpuUsage();
    const testAccuracyByEpoch: number[] = [];
    const score = () => testAccuracyOf(tf, model, test, params.testLimit ?? null);
    const outcome = await trainModel(tf, model, config, train, {
      batchIntervalMs: 0,
      onBatch: () => {
        peakTensorBytes = Math.max(peakTensorBytes, tf.memory().numBytes);
      },
      onEpoch: async () => {
        const cpu = process.cpuUsage(cpuStart);
        epochCpuSeconds.push((cpu.user + cpu.system) / 1e6);
        if (params.evaluateEachEpoch) testAccuracyByEpoch.push(await score());
        cpuStart = process.cpuUsage();
      },
    }, { threads: params.threads });
    const testAccuracy = params.evaluateEachEpoch ? (testAccuracyByEpoch.at(-1) ?? null) : params.evaluate ? await score() : null;
    if (params.modelDir) await saveModel(tf, model, params.modelDir, 'bench');
    return {
      backend: tf.getBackend(),
      samplesPerEpoch: splitIndices(train.count, config).train.length,
      epochs: outcome.metrics,
      epochCpuSeconds,
      testAccuracy,
      testAccuracyByEpoch,
      peakTensorBytes,
      wasmHeapBytes: wasmHeapBytes(tf),
      stepper: outcome.stepper,
    };
  } finally {
    model.optimizer.dispose();
    model.dispose();
  }
}
