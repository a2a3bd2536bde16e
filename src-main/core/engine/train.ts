/**
 * The training loop: seeded shuffles, batches built straight from the dataset's bytes, progress
 * at most ~10 times a second, validation at each epoch end, and a stop that takes effect within
 * one batch. Every tensor it makes is disposed before the next batch.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { EarlyStop, EpochMetrics, TrainingConfig } from '../../contract';
import { CLASS_COUNT, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { lossAndAccuracy } from '../evaluation/metrics';
import { myPhotoAugmentation, trainingAugmentation, type ImageAugmentation } from './models';
import { mulberry32, shuffleInPlace, type SeededRandom } from '../random';
import type { CheckpointData, EarlyStoppingState } from '../runs/checkpoints';
import { readWeights, setOptimizerLearningRate, writeWeights } from './checkpoint-state';
import { learningRateAt } from './lr-schedule';
import { gatherLabels, gatherPixels, inputTensor, predictProbabilities } from './tensors';
import { denseStackTraining } from './wasm-kernels/dense-model';
import { ParallelTrainer } from './parallel/trainer';
import { seededDropouts } from './parallel/shard-step';

type Tf = typeof tfType;

export interface LabelledImages {
  /** count × 784 bytes */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/**
 * Labelled images from outside Fashion-MNIST (My photos, already preprocessed to 28×28 inputs as
 * Classify sees them), mixed into every epoch at `share` of its samples.
 */
export interface ExtraImages {
  /** count × 784 bytes */
  images: Uint8Array;
  labels: Uint8Array;
  /** Share of each epoch's samples drawn from these images, in (0, 1). */
  share: number;
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
  /**
   * Called after each finished epoch (after validation, before early stopping acts); awaited, e.g. to
   * save the model and write a checkpoint of `state` with the model's weights and optimizer.
   */
  onEpoch?(metrics: EpochMetrics, state: EpochEndState): Promise<void> | void;
  /** Checked before every batch. */
  shouldStop?(): boolean;
  /** Minimum milliseconds between two `onBatch` calls (default 100 ⇒ ≤ 10 per second). */
  batchIntervalMs?: number;
}

/** What besides the model's weights and Adam's state a checkpoint needs to continue after an epoch. */
export interface EpochEndState {
  samples: CheckpointData['samples'];
  dropoutStep: number;
  scheduleFromEpoch: number;
  earlyStopping: EarlyStoppingState | null;
}

/** Where a resumed training starts: after `epoch`, with the model and optimizer already restored from its checkpoint. */
export interface ResumePoint extends Omit<EpochEndState, 'scheduleFromEpoch'> {
  epoch: number;
  /** The best epoch's weights when early stopping tracks an epoch before `epoch`; null when it is `epoch` itself or unused. */
  bestWeights: CheckpointData['weights'] | null;
}

export interface TrainOptions {
  /** Continue after a checkpoint's epoch instead of starting at epoch 1. */
  resume?: ResumePoint | null;
  /**
   * The epoch the learning-rate schedule's span starts at (default 1): the schedule runs from there
   * to `config.epochs`. Train more starts a new span at its first epoch.
   */
  scheduleFromEpoch?: number;
  /** Replace each training image before it is batched; default: the preset's (`trainingAugmentation`), null for none. */
  augment?: ImageAugmentation | null;
  /**
   * On the wasm backend, train a Dense-stack model (the tutorial MLP) with the fused step of
   * wasm-kernels/dense-step.ts instead of `trainOnBatch` (default true; false for comparisons).
   */
  denseStack?: boolean;
  /**
   * On the wasm backend, train other models (the CNNs) on every core with `ParallelTrainer`
   * (parallel/trainer.ts) instead of `trainOnBatch` (default true; false for comparisons).
   */
  parallel?: boolean;
  /** Threads for the parallel trainer (default: every core). */
  threads?: number;
  /** Images to mix into every epoch (see `TrainingSamples`); none by default. */
  extra?: ExtraImages | null;
}

/** How the batches were trained: the fused Dense step, or tfjs's `trainOnBatch` (and why). */
export type TrainingStepper =
  | { kind: 'dense-stack'; threads: number }
  | { kind: 'parallel'; threads: number; shardSize: number }
  | { kind: 'trainOnBatch'; reason: string };

export interface TrainOutcome {
  epochsCompleted: number;
  stopped: boolean;
  /** Set when early stopping ended the training (the model then holds the best epoch's weights). */
  earlyStop: EarlyStop | null;
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
  return gatherVariedPixels(images, labels, indices, start, end, () => augment, random);
}

/** `gatherAugmentedPixels` with the augmentation chosen per image index (photos get theirs); null leaves an image as it is. */
export function gatherVariedPixels(
  images: Uint8Array,
  labels: Uint8Array,
  indices: ArrayLike<number>,
  start: number,
  end: number,
  augmentationOf: (index: number) => ImageAugmentation | null,
  random: () => number,
): Float32Array {
  const out = new Float32Array((end - start) * PIXELS_PER_IMAGE);
  for (let i = 0; i < end - start; i++) {
    const index = indices[start + i]!;
    const source = index * PIXELS_PER_IMAGE;
    const original = images.subarray(source, source + PIXELS_PER_IMAGE);
    const augment = augmentationOf(index);
    const image = augment ? augment(original, random, labels[index]!) : original;
    for (let p = 0; p < PIXELS_PER_IMAGE; p++) out[i * PIXELS_PER_IMAGE + p] = image[p]! / 255;
  }
  return out;
}

/** How many photo samples an epoch of `datasetSamples` Fashion-MNIST images gets so that they are `share` of it. */
export function extraSamplesPerEpoch(datasetSamples: number, share: number): number {
  return Math.max(1, Math.round((datasetSamples * share) / (1 - share)));
}

/**
 * What each epoch trains on, in order, and the batches' pixels. Every training image of the split
 * once per epoch, as without extras; with extra images (My photos) also `extraSamplesPerEpoch`
 * photo samples, so that they are `share` of the epoch. Photos are drawn by cycling through them
 * in a seeded order (reshuffled after each full pass), so a few hundred photos among 60,000 images
 * are each seen about equally often, and each photo sample gets its own photo-like variant
 * (`myPhotoAugmentation`). Fashion-MNIST images and photos share one image buffer (the dataset's
 * images, then the photos): an index ≥ the dataset's count is a photo, which is what lets every
 * batch path, the fused Dense step's included, gather pixels by index. The same config, data and
 * extras give the same batches.
 */
export class TrainingSamples {
  readonly validation: Uint32Array;
  /** Samples in one epoch: the training images plus the photo samples. */
  readonly perEpoch: number;
  /** The dataset's images then the extras' (or just the dataset's, without extras). */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  /** True when some samples are replaced by a variant before batching. */
  readonly augments: boolean;
  readonly #train: Uint32Array;
  readonly #order: Uint32Array;
  readonly #datasetCount: number;
  readonly #random: SeededRandom;
  readonly #augmentRandom: SeededRandom;
  readonly #augment: ImageAugmentation | null;
  readonly #extraAugment: ImageAugmentation | null;
  readonly #extraCount: number;
  readonly #extraPerEpoch: number;
  readonly #cycle: Uint32Array;
  #cyclePosition: number;
  readonly #cycleRandom: SeededRandom;

  constructor(config: TrainingConfig, data: LabelledImages, options: { augment?: ImageAugmentation | null; extra?: ExtraImages | null } = {}) {
    const { train, validation } = splitIndices(data.count, config);
    if (train.length === 0) throw new Error('No training images left after the validation split.');
    this.#train = train;
    this.validation = validation;
    this.#datasetCount = data.count;
    this.#random = mulberry32(config.seed);
    // Its own generator, so that the shuffle (and so the batches) stay those of the same seed without augmentation.
    this.#augmentRandom = mulberry32(config.seed ^ 0x5eed_a09);
    this.#augment = options.augment === undefined ? trainingAugmentation(config.preset) : options.augment;
    const extra = options.extra ?? null;
    this.#extraCount = extra ? extra.labels.length : 0;
    if (extra && extra.images.length !== this.#extraCount * PIXELS_PER_IMAGE) {
      throw new Error(`Expected ${this.#extraCount} × ${PIXELS_PER_IMAGE} bytes of extra images, got ${extra.images.length}.`);
    }
    if (extra && !(extra.share > 0 && extra.share < 1)) throw new Error(`The share of extra images must be between 0 and 1, got ${extra.share}.`);
    this.#extraPerEpoch = extra && this.#extraCount > 0 ? extraSamplesPerEpoch(train.length, extra.share) : 0;
    this.#extraAugment = this.#extraPerEpoch > 0 ? myPhotoAugmentation() : null;
    this.perEpoch = train.length + this.#extraPerEpoch;
    this.augments = this.#augment !== null || this.#extraAugment !== null;
    if (this.#extraPerEpoch > 0) {
      const images = new Uint8Array((data.count + this.#extraCount) * PIXELS_PER_IMAGE);
      images.set(data.images.subarray(0, data.count * PIXELS_PER_IMAGE));
      images.set(extra!.images, data.count * PIXELS_PER_IMAGE);
      const labels = new Uint8Array(data.count + this.#extraCount);
      labels.set(data.labels.subarray(0, data.count));
      labels.set(extra!.labels, data.count);
      this.images = images;
      this.labels = labels;
      this.#order = new Uint32Array(this.perEpoch);
    } else {
      this.images = data.images;
      this.labels = data.labels;
      // Without extras the epoch order is the split's own array, shuffled again each epoch (as it always was).
      this.#order = train;
    }
    // A third generator for the photos' order, so that runs without photos keep their batches.
    this.#cycleRandom = mulberry32(config.seed ^ 0x9407_05);
    this.#cycle = new Uint32Array(this.#extraCount);
    for (let i = 0; i < this.#extraCount; i++) this.#cycle[i] = data.count + i;
    this.#cyclePosition = this.#extraCount;
  }

  /** The sample indices of the next epoch, in training order (valid until the next call). */
  nextEpoch(): Uint32Array {
    if (this.#extraPerEpoch === 0) return shuffleInPlace(this.#order, this.#random);
    this.#order.set(this.#train);
    for (let i = 0; i < this.#extraPerEpoch; i++) {
      if (this.#cyclePosition === this.#cycle.length) {
        shuffleInPlace(this.#cycle, this.#cycleRandom);
        this.#cyclePosition = 0;
      }
      this.#order[this.#train.length + i] = this.#cycle[this.#cyclePosition++]!;
    }
    return shuffleInPlace(this.#order, this.#random);
  }

  /** Where the generators and orders stand (copies), for a checkpoint: `restore` of it continues the same sequence. */
  snapshot(): CheckpointData['samples'] {
    return {
      random: this.#random.state(),
      augmentRandom: this.#augmentRandom.state(),
      cycleRandom: this.#cycleRandom.state(),
      cyclePosition: this.#cyclePosition,
      orderLength: this.#order.length,
      cycleLength: this.#cycle.length,
      order: this.#order.slice(),
      cycle: this.#cycle.slice(),
    };
  }

  /** Continue from a `snapshot` taken with the same config, data and extras. */
  restore(state: Pick<CheckpointData['samples'], 'random' | 'augmentRandom' | 'cycleRandom' | 'cyclePosition' | 'order' | 'cycle'>): void {
    if (state.order.length !== this.#order.length || state.cycle.length !== this.#cycle.length) {
      throw new Error(`The checkpoint's epoch holds ${state.order.length} samples and ${state.cycle.length} photos; this training has ${this.#order.length} and ${this.#cycle.length}.`);
    }
    this.#random.setState(state.random);
    this.#augmentRandom.setState(state.augmentRandom);
    this.#cycleRandom.setState(state.cycleRandom);
    this.#cyclePosition = state.cyclePosition;
    this.#order.set(state.order);
    this.#cycle.set(state.cycle);
  }

  /** The augmentation an image gets: photos their own, Fashion-MNIST images the preset's. */
  augmentationOf(index: number): ImageAugmentation | null {
    return index >= this.#datasetCount ? this.#extraAugment : this.#augment;
  }

  /** Labels of `order[start..end)` as float32 class indices. */
  batchLabels(order: Uint32Array, start: number, end: number): Float32Array {
    return gatherLabels(this.labels, order, start, end);
  }

  /** Pixels of `order[start..end)` in [0, 1], each augmented as `augmentationOf` says (draws from the run's augmentation generator). */
  batchPixels(order: Uint32Array, start: number, end: number): Float32Array {
    if (!this.augments) return gatherPixels(this.images, order, start, end);
    return gatherVariedPixels(this.images, this.labels, order, start, end, (index) => this.augmentationOf(index), this.#augmentRandom);
  }
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
  const seeds = seededDropouts(model);
  return { next: (step) => seeds.set(step), restore: () => seeds.restore() };
}

export async function trainModel(
  tf: Tf,
  model: tfType.LayersModel,
  config: TrainingConfig,
  data: LabelledImages,
  callbacks: TrainCallbacks = {},
  options: TrainOptions = {},
): Promise<TrainOutcome> {
  const samples = new TrainingSamples(config, data, { augment: options.augment, extra: options.extra });
  const { validation, perEpoch } = samples;
  const inputShape = (model.inputs[0]!.shape as (number | null)[]).slice(1) as number[];
  const batches = Math.ceil(perEpoch / config.batchSize);
  const interval = callbacks.batchIntervalMs ?? 100;
  const metrics: EpochMetrics[] = [];
  let previousRate: number | null = null;
  const early = config.earlyStopping ?? null;
  let tracker: EarlyStoppingState | null = early && options.resume?.earlyStopping ? { ...options.resume.earlyStopping } : null;
  let bestWeights = early && tracker ? (options.resume?.bestWeights ?? (tracker.bestEpoch === options.resume?.epoch ? readWeights(model) : null)) : null;
  if (early && tracker && !bestWeights) throw new Error(`The weights of epoch ${tracker.bestEpoch}, the best so far, are missing from the checkpoints.`);
  let earlyStop: EarlyStop | null = null;
  const dense = options.denseStack === false ? { training: null, reason: 'turned off' } : denseStackTraining(tf, model, config.batchSize);
  const parallel =
    !dense.training && options.parallel !== false && tf.getBackend() === 'wasm' ? await ParallelTrainer.create(tf, model, config.batchSize, { threads: options.threads }) : null;
  const stepper: TrainingStepper = dense.training
    ? { kind: 'dense-stack', threads: dense.training.threads }
    : parallel
      ? { kind: 'parallel', threads: parallel.threads, shardSize: parallel.shardSize }
      : { kind: 'trainOnBatch', reason: options.parallel === false ? 'turned off' : `${dense.reason!} (on the ${tf.getBackend()} backend)` };
  const dropouts = dropoutSeeds(model);
  const resume = options.resume ?? null;
  if (resume) samples.restore(resume.samples);
  const firstEpoch = (resume?.epoch ?? 0) + 1;
  let step = resume?.dropoutStep ?? 0;
  // The learning rate of each batch, set in this one place for every way a batch is trained.
  const scheduleFrom = Math.min(options.scheduleFromEpoch ?? 1, config.epochs);
  const rateAt = (epoch: number, batch: number): number =>
    learningRateAt(config.schedule, config.learningRate, { step: (epoch - scheduleFrom) * batches + batch, stepsPerEpoch: batches, totalSteps: (config.epochs - scheduleFrom + 1) * batches });
  const applyRate = (rate: number): void => {
    setOptimizerLearningRate(model, rate);
    dense.training?.setLearningRate(rate);
  };
  const trainBatch = async (pixels: Float32Array, labels: Float32Array, count: number): Promise<[number, number]> => {
    if (dense.training) {
      const { loss, accuracy } = dense.training.step(pixels, labels, count);
      return [loss, accuracy];
    }
    if (parallel) {
      parallel.pixelBuffer(count).set(pixels);
      const { loss, accuracy } = await parallel.step(labels, count, ++step);
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
    for (let epoch = firstEpoch; epoch <= config.epochs; epoch++) {
      const order = samples.nextEpoch();
      const epochStart = performance.now();
      // The first batch is always reported, then at most one per interval.
      let lastReport = Number.NEGATIVE_INFINITY;
      let lastYield = epochStart;
      let lossSum = 0;
      let accuracySum = 0;
      let seen = 0;
      const epochRate = rateAt(epoch, 0);

      for (let batch = 0; batch < batches; batch++) {
        if (callbacks.shouldStop?.()) return { epochsCompleted: epoch - 1, stopped: true, earlyStop: null, metrics, stepper };
        applyRate(batch === 0 ? epochRate : rateAt(epoch, batch));
        const start = batch * config.batchSize;
        const end = Math.min(perEpoch, start + config.batchSize);
        const labels = samples.batchLabels(order, start, end);
        let loss: number;
        let accuracy: number;
        if (dense.training && !samples.augments) {
          // The images' bytes straight into the fused step's own memory; it scales them itself.
          const into = dense.training.inputByteBuffer(end - start);
          for (let i = 0; i < end - start; i++) {
            const source = order[start + i]! * PIXELS_PER_IMAGE;
            into.set(samples.images.subarray(source, source + PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE);
          }
          ({ loss, accuracy } = dense.training.stepOnBytes(labels, end - start));
        } else {
          [loss, accuracy] = await trainBatch(samples.batchPixels(order, start, end), labels, end - start);
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
          const remaining = perEpoch - seen + (config.epochs - epoch) * perEpoch;
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
        learningRate: epochRate,
      };
      metrics.push(epochMetrics);
      if (early && valLoss !== null) {
        // Keras' EarlyStopping(monitor='val_loss', min_delta=0): an epoch is better only when strictly lower.
        if (!tracker || valLoss < tracker.bestValLoss) {
          tracker = { bestEpoch: epoch, bestValLoss: valLoss, epochsSinceBest: 0 };
          bestWeights = readWeights(model);
        } else {
          tracker = { ...tracker, epochsSinceBest: tracker.epochsSinceBest + 1 };
        }
      }
      await callbacks.onEpoch?.(epochMetrics, { samples: samples.snapshot(), dropoutStep: step, scheduleFromEpoch: scheduleFrom, earlyStopping: tracker });
      if (early && tracker && tracker.epochsSinceBest >= early.patience && epoch < config.epochs) {
        earlyStop = { stoppedAfterEpoch: epoch, bestEpoch: tracker.bestEpoch, bestValLoss: tracker.bestValLoss, patience: early.patience };
        break;
      }
    }
  } finally {
    // A stop or an error mid-epoch: the model still gets what was trained so far.
    dense.training?.sync();
    dense.training?.dispose();
    await parallel?.dispose();
    dropouts.restore();
  }
  // After the fused step's last sync: the model gets the best epoch's weights, also when the last epoch was not the best.
  if (!earlyStop && early && tracker && tracker.bestEpoch !== config.epochs) {
    earlyStop = { stoppedAfterEpoch: config.epochs, bestEpoch: tracker.bestEpoch, bestValLoss: tracker.bestValLoss, patience: early.patience };
  }
  if (earlyStop) writeWeights(tf, model, bestWeights!);
  return { epochsCompleted: earlyStop?.stoppedAfterEpoch ?? config.epochs, stopped: false, earlyStop, metrics, stepper };
}
