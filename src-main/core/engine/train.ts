/**
 * The training loop: seeded shuffles, batches built straight from the dataset's bytes, progress
 * at most ~10 times a second, validation at each epoch end, and a stop that takes effect within
 * one batch. Every tensor it makes is disposed before the next batch.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { EpochMetrics, TrainingConfig } from '../../contract';
import { CLASS_COUNT, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { lossAndAccuracy } from '../evaluation/metrics';
import { trainingAugmentation, type ImageAugmentation } from './models';
import { mulberry32, shuffleInPlace } from '../random';
import { gatherLabels, gatherPixels, inputTensor, predictProbabilities } from './tensors';
import { denseStackTraining } from './wasm-kernels/dense-model';

type Tf = typeof tfType;

export interface LabelledImages {
  /** count × 784 bytes */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface BatchReport {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  samplesPerSecond: number;
  etaSeconds: number | null;
}

export interface TrainCallbacks {
  onBatch?(report: BatchReport): void;
  /** Called after each finished epoch (after validation); awaited, e.g. to save the model. */
  onEpoch?(metrics: EpochMetrics): Promise<void> | void;
  /** Checked before every batch. */
  shouldStop?(): boolean;
  /** Minimum milliseconds between two `onBatch` calls (default 100 ⇒ ≤ 10 per second). */
  batchIntervalMs?: number;
}

export interface TrainOptions {
  /** Replace each training image before it is batched; default: the preset's (`trainingAugmentation`), null for none. */
  augment?: ImageAugmentation | null;
  /**
   * On the wasm backend, train a Dense-stack model (the tutorial MLP) with the fused step of
   * wasm-kernels/dense-step.ts instead of `trainOnBatch` (default true; false for comparisons).
   */
  denseStack?: boolean;
}

/** How the batches were trained: the fused Dense step, or tfjs's `trainOnBatch` (and why). */
export type TrainingStepper = { kind: 'dense-stack'; threads: number } | { kind: 'trainOnBatch'; reason: string };

export interface TrainOutcome {
  epochsCompleted: number;
  stopped: boolean;
  metrics: EpochMetrics[];
  stepper: TrainingStepper;
}

/** Which images train and which validate: the first `trainLimit`, with the last fraction held out (as Keras does). */
export function splitIndices(count: number, config: Pick<TrainingConfig, 'trainLimit' | 'validationSplit'>): { train: Uint32Array; validation: Uint32Array } {
  const total = Math.min(count, config.trainLimit ?? count);
  const validationCount = Math.floor(total * config.validationSplit);
  const trainCount = total - validationCount;
  const train = new Uint32Array(trainCount);
  for (let i = 0; i < trainCount; i++) train[i] = i;
  const validation = new Uint32Array(validationCount);
  for (let i = 0; i < validationCount; i++) validation[i] = trainCount + i;
  return { train, validation };
}

/** `gatherPixels` with each image replaced by `augment(image, random, label)` first (photo-robust training). */
export function gatherAugmentedPixels(
  images: Uint8Array,
  labels: Uint8Array,
  indices: ArrayLike<number>,
  start: number,
  end: number,
  augment: ImageAugmentation,
  random: () => number,
): Float32Array {
  const out = new Float32Array((end - start) * PIXELS_PER_IMAGE);
  for (let i = 0; i < end - start; i++) {
    const index = indices[start + i]!;
    const source = index * PIXELS_PER_IMAGE;
    const image = augment(images.subarray(source, source + PIXELS_PER_IMAGE), random, labels[index]!);
    for (let p = 0; p < PIXELS_PER_IMAGE; p++) out[i * PIXELS_PER_IMAGE + p] = image[p]! / 255;
  }
  return out;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * tfjs's Dropout layer with a seed draws the same mask at every call (tfjs-core's `dropout` seeds
 * a fresh generator each time), so a seeded Dropout drops the same units of every batch slot for
 * the whole training. `next(step)` gives each batch its own seed (the layer's + the step) so the
 * masks change from batch to batch and a run still repeats; `restore()` puts the layer's own
 * seed back, for prediction and for the config that is saved.
 */
export function dropoutSeeds(model: tfType.LayersModel): { next(step: number): void; restore(): void } {
  const layers = model.layers
    .filter((layer) => layer.getClassName() === 'Dropout')
    .map((layer) => layer as unknown as { seed?: number })
    .filter((layer) => typeof layer.seed === 'number')
    .map((layer) => ({ layer, seed: layer.seed! }));
  return {
    next: (step) => layers.forEach(({ layer, seed }) => (layer.seed = seed + step)),
    restore: () => layers.forEach(({ layer, seed }) => (layer.seed = seed)),
  };
}

export async function trainModel(
  tf: Tf,
  model: tfType.LayersModel,
  config: TrainingConfig,
  data: LabelledImages,
  callbacks: TrainCallbacks = {},
  options: TrainOptions = {},
): Promise<TrainOutcome> {
  const { train, validation } = splitIndices(data.count, config);
  if (train.length === 0) throw new Error('No training images left after the validation split.');
  const inputShape = (model.inputs[0]!.shape as (number | null)[]).slice(1) as number[];
  const random = mulberry32(config.seed);
  // Its own generator, so that the shuffle (and so the batches) stay those of the same seed without augmentation.
  const augment = options.augment === undefined ? trainingAugmentation(config.preset) : options.augment;
  const augmentRandom = mulberry32(config.seed ^ 0x5eed_a09);
  const batches = Math.ceil(train.length / config.batchSize);
  const interval = callbacks.batchIntervalMs ?? 100;
  const metrics: EpochMetrics[] = [];
  let previousRate: number | null = null;
  const dense = options.denseStack === false ? { training: null, reason: 'turned off' } : denseStackTraining(tf, model, config.batchSize);
  const stepper: TrainingStepper = dense.training ? { kind: 'dense-stack', threads: dense.training.threads } : { kind: 'trainOnBatch', reason: dense.reason! };
  const dropouts = dropoutSeeds(model);
  let step = 0;
  const trainBatch = async (pixels: Float32Array, labels: Float32Array, count: number): Promise<[number, number]> => {
    if (dense.training) {
      const { loss, accuracy } = dense.training.step(pixels, labels, count);
      return [loss, accuracy];
    }
    const xs = inputTensor(tf, pixels, inputShape);
    const ys = tf.tensor2d(labels, [count, 1], 'float32');
    dropouts.next(++step);
    try {
      const result = await model.trainOnBatch(xs, ys);
      return Array.isArray(result) ? [result[0]!, result[1] ?? Number.NaN] : [result, Number.NaN];
    } finally {
      xs.dispose();
      ys.dispose();
    }
  };

  try {
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      shuffleInPlace(train, random);
      const epochStart = performance.now();
      let lastReport = 0;
      let lastYield = epochStart;
      let lossSum = 0;
      let accuracySum = 0;
      let seen = 0;

      for (let batch = 0; batch < batches; batch++) {
        if (callbacks.shouldStop?.()) return { epochsCompleted: epoch - 1, stopped: true, metrics, stepper };
        const start = batch * config.batchSize;
        const end = Math.min(train.length, start + config.batchSize);
        const labels = gatherLabels(data.labels, train, start, end);
        let loss: number;
        let accuracy: number;
        if (dense.training && !augment) {
          // The images' bytes straight into the fused step's own memory; it scales them itself.
          const into = dense.training.inputByteBuffer(end - start);
          for (let i = 0; i < end - start; i++) {
            const source = train[start + i]! * PIXELS_PER_IMAGE;
            into.set(data.images.subarray(source, source + PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE);
          }
          ({ loss, accuracy } = dense.training.stepOnBytes(labels, end - start));
        } else {
          const pixels = augment ? gatherAugmentedPixels(data.images, data.labels, train, start, end, augment, augmentRandom) : gatherPixels(data.images, train, start, end);
          [loss, accuracy] = await trainBatch(pixels, labels, end - start);
        }
        if (!Number.isFinite(loss)) {
          throw new Error(`The loss became ${loss} in epoch ${epoch}, batch ${batch + 1}: training diverged. Try a lower learning rate.`);
        }
        lossSum += loss * (end - start);
        accuracySum += accuracy * (end - start);
        seen += end - start;

        const now = performance.now();
        if (callbacks.onBatch && (now - lastReport >= interval || batch === batches - 1)) {
          lastReport = now;
          const rate = seen / ((now - epochStart) / 1000);
          const remaining = train.length - seen + (config.epochs - epoch) * train.length;
          callbacks.onBatch({
            epoch,
            batch: batch + 1,
            batches,
            loss: lossSum / seen,
            accuracy: accuracySum / seen,
            samplesPerSecond: rate,
            etaSeconds: Number.isFinite(rate) && rate > 0 ? remaining / (previousRate ?? rate) : null,
          });
        }
        // Let the worker's message queue run now and then (predictions, info) without slowing batches.
        if (now - lastYield > 50) {
          lastYield = now;
          await yieldToEventLoop();
        }
      }

      const trainSeconds = (performance.now() - epochStart) / 1000;
      previousRate = seen / trainSeconds;
      // The model's variables get the trained weights, its dropout layers their own seeds, before validation and saving.
      dense.training?.sync();
      dropouts.restore();
      let valLoss: number | null = null;
      let valAccuracy: number | null = null;
      if (validation.length > 0) {
        const probabilities = await predictProbabilities(tf, model, validation.length, (start, end) => gatherPixels(data.images, validation, start, end));
        const scores = lossAndAccuracy(probabilities, gatherLabels(data.labels, validation, 0, validation.length), CLASS_COUNT);
        valLoss = scores.loss;
        valAccuracy = scores.accuracy;
      }
      const epochMetrics: EpochMetrics = {
        epoch,
        loss: lossSum / seen,
        accuracy: accuracySum / seen,
        valLoss,
        valAccuracy,
        seconds: (performance.now() - epochStart) / 1000,
        samplesPerSecond: previousRate,
      };
      metrics.push(epochMetrics);
      await callbacks.onEpoch?.(epochMetrics);
    }
  } finally {
    // A stop or an error mid-epoch: the model still gets what was trained so far.
    dense.training?.sync();
    dense.training?.dispose();
    dropouts.restore();
  }
  return { epochsCompleted: config.epochs, stopped: false, metrics, stepper };
}
