import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../../contract';
import { findDataset } from '../dataset/sources';
import { loadDataset, type FashionMnist } from '../dataset/store';
import { PIXELS_PER_IMAGE } from '../fashion-mnist';
import { mulberry32, shuffleInPlace } from '../random';
import { buildModel, disposeModel, loadModelForTeaching, teachingProblem } from './models';
import { saveModel } from './model-io';
import { gatherPixels, predictProbabilities } from './tensors';
import { dropoutSeeds, extraSamplesPerEpoch, splitIndices, trainModel, TrainingSamples, type ExtraImages } from './train';
import { registerWasmTrainingKernels } from './wasm-kernels';

const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(SYSTEM_DIR);
const config = (patch: Partial<TrainingConfig> = {}): TrainingConfig => ({
  preset: 'tutorial-mlp', epochs: 2, batchSize: 32, learningRate: 0.001, hiddenUnits: 32, validationSplit: 0.1, seed: 7, trainLimit: 1200, ...patch,
});

describe('splitIndices', () => {
  it('holds out the last fraction of the first trainLimit images, as Keras does', () => {
    const { train, validation } = splitIndices(60_000, { trainLimit: 1000, validationSplit: 0.1 });
    expect(train.length).toBe(900);
    expect(validation.length).toBe(100);
    expect(train[0]).toBe(0);
    expect(train[899]).toBe(899);
    expect(validation[0]).toBe(900);
    expect(validation[99]).toBe(999);
  });

  it('uses everything when there is no limit and no validation', () => {
    const { train, validation } = splitIndices(500, { trainLimit: null, validationSplit: 0 });
    expect(train.length).toBe(500);
    expect(validation.length).toBe(0);
  });
});

/** Synthetic labelled "photos": a bright block per class, so tests need no photo decoding. */
function fakePhotos(count: number, share: number): ExtraImages {
  const images = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 10;
    for (let p = 0; p < 200; p++) images[i * PIXELS_PER_IMAGE + 100 + p + (i % 10) * 30] = 120 + ((i * 7 + p) % 130);
  }
  return { images, labels, share };
}

describe('TrainingSamples: My photos mixed into every epoch', () => {
  const data = { images: new Uint8Array(1000 * PIXELS_PER_IMAGE).fill(3), labels: new Uint8Array(1000), count: 1000 };
  const cfg = config({ trainLimit: 1000, validationSplit: 0.1 });

  it('makes photos the given share of each epoch, every training image still once, photos cycled evenly', () => {
    const samples = new TrainingSamples(cfg, data, { extra: fakePhotos(7, 0.1) });
    // 900 training images; 100 photo samples make 10 % of 1,000.
    expect(extraSamplesPerEpoch(900, 0.1)).toBe(100);
    expect(samples.perEpoch).toBe(1000);
    const seen = new Map<number, number>();
    for (let epoch = 0; epoch < 2; epoch++) {
      const order = samples.nextEpoch();
      expect(order.length).toBe(1000);
      const dataset = Array.from(order).filter((index) => index < 1000).sort((a, b) => a - b);
      expect(dataset).toEqual(Array.from({ length: 900 }, (_, i) => i));
      for (const index of order) if (index >= 1000) seen.set(index, (seen.get(index) ?? 0) + 1);
    }
    // 200 photo samples over 7 photos in full passes: each 28 or 29 times.
    expect([...seen.keys()].sort()).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006]);
    for (const count of seen.values()) expect(count === 28 || count === 29).toBe(true);
    // Photo samples carry the photos' labels and are varied; Fashion-MNIST images stay as they are (tutorial-mlp).
    expect(samples.labels[1003]).toBe(3);
    expect(samples.augmentationOf(1003)).not.toBeNull();
    expect(samples.augmentationOf(5)).toBeNull();
  });

  it('leaves a run without photos with the batches it always had', () => {
    const order = new TrainingSamples(cfg, data).nextEpoch();
    const expected = shuffleInPlace(splitIndices(1000, cfg).train, mulberry32(cfg.seed));
    expect(Array.from(order)).toEqual(Array.from(expected));
  });

  it('refuses extras whose bytes and labels disagree', () => {
    const extra = fakePhotos(3, 0.1);
    expect(() => new TrainingSamples(cfg, data, { extra: { ...extra, labels: new Uint8Array(4) } })).toThrow(/4 × 784 bytes/);
  });
});

describe('teachingProblem', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  });

  it('accepts the presets and refuses a model whose output is not a softmax over ten classes', () => {
    const mlp = buildModel(tf, config());
    expect(teachingProblem(mlp)).toBeNull();
    mlp.dispose();
    const logits = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.dense({ units: 10 })] });
    expect(teachingProblem(logits)).toMatch(/does not end in a softmax/);
    logits.dispose();
    const five = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.dense({ units: 5, activation: 'softmax' })] });
    expect(teachingProblem(five)).toMatch(/not the ten classes/);
    five.dispose();
  });
});

describe.skipIf(!haveData)('trainModel on wasm (real Fashion-MNIST)', () => {
  let data: FashionMnist;

  beforeAll(async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
    await tf.ready();
    registerWasmTrainingKernels(tf);
    const source = await findDataset({ env: {}, home: '/nonexistent-atelier-home', systemDir: SYSTEM_DIR });
    data = await loadDataset(source!);
  });

  it('leaks no tensors: the count is the same after epoch 2 as after epoch 1, and after 100 predictions', async () => {
    const model = buildModel(tf, config());
    const afterEpoch: number[] = [];
    const outcome = await trainModel(tf, model, config(), data.train, {
      onEpoch: () => {
        afterEpoch.push(tf.memory().numTensors);
      },
    });
    expect(outcome.epochsCompleted).toBe(2);
    expect(afterEpoch).toHaveLength(2);
    expect(afterEpoch[1]).toBe(afterEpoch[0]);

    const before = tf.memory().numTensors;
    const identity = Array.from({ length: 100 }, (_, i) => i);
    for (let i = 0; i < 100; i++) {
      await predictProbabilities(tf, model, 1, () => gatherPixels(data.test.images, identity, i, i + 1));
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('stops before the next batch once asked, and reports the epochs that finished', async () => {
    const model = buildModel(tf, config({ validationSplit: 0 }));
    let batchesRun = 0;
    let checks = 0;
    const outcome = await trainModel(tf, model, config({ validationSplit: 0, epochs: 3 }), data.train, {
      batchIntervalMs: 0,
      onBatch: () => {
        batchesRun++;
      },
      // Ask to stop during the second epoch (38 batches of 32 per epoch over 1,200 images).
      shouldStop: () => ++checks > 45,
    });
    expect(outcome).toMatchObject({ stopped: true, epochsCompleted: 1 });
    expect(batchesRun).toBe(45);
    model.dispose();
  });

  it('gives the same result for the same seed on the same backend, and another for another seed', async () => {
    const run = async (seed: number) => {
      const model = buildModel(tf, config({ seed, epochs: 1 }));
      const outcome = await trainModel(tf, model, config({ seed, epochs: 1 }), data.train);
      model.dispose();
      return outcome.metrics[0]!;
    };
    const first = await run(3);
    const again = await run(3);
    const other = await run(4);
    expect(again.loss).toBe(first.loss);
    expect(again.valAccuracy).toBe(first.valAccuracy);
    expect(other.loss).not.toBe(first.loss);
  });

  it('learns: validation accuracy after 2 epochs on 1,200 images is far above chance', async () => {
    const model = buildModel(tf, config({ hiddenUnits: 128 }));
    const outcome = await trainModel(tf, model, config({ hiddenUnits: 128 }), data.train);
    expect(outcome.metrics[1]!.valAccuracy!).toBeGreaterThan(0.6);
    expect(outcome.metrics[1]!.loss).toBeLessThan(outcome.metrics[0]!.loss);
    model.dispose();
  });

  it('trains Dense stacks with the fused step on wasm, to what trainOnBatch gives, and leaves the model trained', async () => {
    const run = async (denseStack: boolean) => {
      const model = buildModel(tf, config({ epochs: 1 }));
      const outcome = await trainModel(tf, model, config({ epochs: 1 }), data.train, {}, { denseStack, parallel: false });
      const probabilities = await predictProbabilities(tf, model, 50, (start, end) => gatherPixels(data.test.images, Array.from({ length: 50 }, (_, i) => i), start, end));
      model.dispose();
      return { outcome, probabilities };
    };
    const fused = await run(true);
    const layers = await run(false);
    expect(fused.outcome.stepper).toMatchObject({ kind: 'dense-stack' });
    expect(layers.outcome.stepper).toEqual({ kind: 'trainOnBatch', reason: 'turned off' });
    const [a, b] = [fused.outcome.metrics[0]!, layers.outcome.metrics[0]!];
    // Same batches, same arithmetic up to the order of additions: float32 rounding only.
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-4);
    expect(Math.abs(a.valLoss! - b.valLoss!)).toBeLessThan(1e-4);
    let largest = 0;
    fused.probabilities.forEach((p, i) => (largest = Math.max(largest, Math.abs(p - layers.probabilities[i]!))));
    expect(largest).toBeLessThan(1e-4);
  });

  it('trains a CNN with the parallel trainer on wasm, and says why not with the fused Dense step', async () => {
    const cnn = config({ preset: 'cnn', epochs: 1, trainLimit: 64, validationSplit: 0 });
    const model = buildModel(tf, cnn);
    const outcome = await trainModel(tf, model, cnn, data.train, {}, { threads: 2 });
    expect(outcome.stepper).toEqual({ kind: 'parallel', threads: 2, shardSize: 16 });
    const layers = await trainModel(tf, model, cnn, data.train, {}, { parallel: false });
    expect(layers.stepper).toEqual({ kind: 'trainOnBatch', reason: 'turned off' });
    model.dispose();
    const dropoutMlp = { ...config({ epochs: 1, trainLimit: 64, validationSplit: 0 }) };
    const mlp = buildModel(tf, dropoutMlp);
    const fused = await trainModel(tf, mlp, dropoutMlp, data.train, {}, { denseStack: false, parallel: false });
    expect(fused.stepper).toEqual({ kind: 'trainOnBatch', reason: 'turned off' });
    mlp.dispose();
  });

  it('gives seeded dropout a new mask every batch (tfjs repeats one), repeats a run, and keeps the saved seed', async () => {
    const build = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [28, 28] }),
          // sigmoid: every value reaching the dropout is > 0, so a zero after it is the mask's
          tf.layers.dense({ units: 16, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.dropout({ rate: 0.5, seed: 99 }),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      return model;
    };
    const run = async () => {
      const model = build();
      const dropout = model.layers[2]!;
      const masks: string[] = [];
      const call = dropout.call.bind(dropout);
      dropout.call = (inputs, kwargs) => {
        const out = call(inputs, kwargs) as tf.Tensor;
        if (kwargs.training) masks.push(Array.from(tf.tidy(() => tf.notEqual(out, 0).dataSync())).join(''));
        return out;
      };
      const small = config({ epochs: 1, trainLimit: 96, validationSplit: 0, batchSize: 32 });
      // trainOnBatch's own dropout seeds (the parallel trainer seeds per shard: parallel/shard-step.ts).
      const outcome = await trainModel(tf, model, small, data.train, {}, { parallel: false });
      const savedSeed = (model.layers[2]!.getConfig() as { seed?: number }).seed;
      model.dispose();
      return { masks, loss: outcome.metrics[0]!.loss, savedSeed };
    };
    const first = await run();
    expect(first.masks).toHaveLength(3);
    expect(new Set(first.masks).size).toBe(3);
    expect(first.savedSeed).toBe(99);
    const again = await run();
    expect(again.masks).toEqual(first.masks);
    expect(again.loss).toBe(first.loss);
  });

  it('without the per-batch seeds tfjs would have used one mask throughout (why dropoutSeeds exists)', () => {
    const layer = tf.layers.dropout({ rate: 0.5, seed: 7 });
    const x = tf.ones([4, 32]);
    const mask = (): string => Array.from(tf.tidy(() => tf.notEqual(layer.apply(x, { training: true }) as tf.Tensor, 0).dataSync())).join('');
    expect(mask()).toBe(mask());
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 4 }), tf.layers.dropout({ rate: 0.5, seed: 7 })] });
    const seeds = dropoutSeeds(model);
    seeds.next(1);
    expect((model.layers[1] as unknown as { seed: number }).seed).toBe(8);
    seeds.restore();
    expect((model.layers[1] as unknown as { seed: number }).seed).toBe(7);
    x.dispose();
    model.dispose();
  });
});


describe.skipIf(!haveData)('trainModel with My photos (wasm, real Fashion-MNIST)', () => {
  let data: FashionMnist;
  const photoConfig = (patch: Partial<TrainingConfig> = {}) => config({ epochs: 1, trainLimit: 600, validationSplit: 0.1, myPhotos: { share: 0.2 }, ...patch });
  /** Twelve test images standing in for preprocessed photos (both are 28×28 inputs). */
  const photos = (): ExtraImages => ({ images: data.test.images.slice(0, 12 * PIXELS_PER_IMAGE), labels: data.test.labels.slice(0, 12), share: 0.2 });

  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    registerWasmTrainingKernels(tf);
    const source = await findDataset({ env: {}, home: '/nonexistent-atelier-home', systemDir: SYSTEM_DIR });
    data = await loadDataset(source!);
  });

  const weightsOf = (model: tf.LayersModel): number[][] => model.getWeights().map((weight) => Array.from(weight.dataSync()));

  it('is deterministic for a seed (same metrics and weights), and another seed differs', async () => {
    const run = async (seed: number, denseStack = true) => {
      const cfg = photoConfig({ seed });
      const model = buildModel(tf, cfg);
      const outcome = await trainModel(tf, model, cfg, data.train, {}, { extra: photos(), denseStack });
      const weights = weightsOf(model);
      disposeModel(model);
      return { metrics: outcome.metrics[0]!, weights, stepper: outcome.stepper };
    };
    const first = await run(11);
    expect(first.stepper.kind).toBe('dense-stack');
    const again = await run(11);
    expect(again.metrics.loss).toBe(first.metrics.loss);
    expect(again.metrics.valAccuracy).toBe(first.metrics.valAccuracy);
    expect(again.weights).toEqual(first.weights);
    const other = await run(12);
    expect(other.metrics.loss).not.toBe(first.metrics.loss);
    expect(other.weights).not.toEqual(first.weights);
    // The photos change what is learnt: the same seed without them ends elsewhere.
    const cfg = photoConfig({ seed: 11, myPhotos: null });
    const plain = buildModel(tf, cfg);
    await trainModel(tf, plain, cfg, data.train);
    expect(weightsOf(plain)).not.toEqual(first.weights);
    disposeModel(plain);
  });

  it('counts batches and the ETA over the epoch with its photo samples', async () => {
    const cfg = photoConfig({ epochs: 2, batchSize: 50 });
    const model = buildModel(tf, cfg);
    const reports: { epoch: number; batch: number; batches: number }[] = [];
    await trainModel(tf, model, cfg, data.train, { batchIntervalMs: 0, onBatch: (report) => reports.push(report) }, { extra: photos() });
    disposeModel(model);
    // 540 training images + 135 photo samples (20 %) = 675 samples, 14 batches of 50.
    expect(reports).toHaveLength(28);
    expect(reports.every((report) => report.batches === 14)).toBe(true);
    expect(reports.at(-1)).toMatchObject({ epoch: 2, batch: 14 });
  });

  it('leaks no tensors, with the fused step and with trainOnBatch, and for the photo-robust CNN', async () => {
    for (const [preset, denseStack] of [['tutorial-mlp', true], ['tutorial-mlp', false], ['photo-robust', false]] as const) {
      const cfg = photoConfig({ preset, epochs: 2, trainLimit: preset === 'photo-robust' ? 200 : 600 });
      const before = tf.memory().numTensors;
      const model = buildModel(tf, cfg);
      const afterEpoch: number[] = [];
      await trainModel(tf, model, cfg, data.train, { onEpoch: () => void afterEpoch.push(tf.memory().numTensors) }, { extra: photos(), denseStack });
      expect(afterEpoch[1], `${preset} ${denseStack}`).toBe(afterEpoch[0]);
      disposeModel(model);
      expect(tf.memory().numTensors, `${preset} ${denseStack}`).toBe(before);
    }
  });

  it('teaches a saved model: loaded with its weights, refused when it cannot be trained, nothing leaked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atelier-teach-'));
    try {
      const cfg = photoConfig({ myPhotos: null });
      const parent = buildModel(tf, cfg);
      await trainModel(tf, parent, cfg, data.train);
      await saveModel(tf, parent, dir, 'e1');
      const before = tf.memory().numTensors;
      const child = await loadModelForTeaching(tf, dir, cfg);
      expect(weightsOf(child)).toEqual(weightsOf(parent));
      await trainModel(tf, child, photoConfig(), data.train, {}, { extra: photos() });
      expect(weightsOf(child)).not.toEqual(weightsOf(parent));
      disposeModel(child);
      expect(tf.memory().numTensors).toBe(before);
      disposeModel(parent);

      const logits = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.dense({ units: 10 })] });
      await saveModel(tf, logits, dir, 'logits');
      logits.dispose();
      const count = tf.memory().numTensors;
      await expect(loadModelForTeaching(tf, dir, cfg)).rejects.toMatchObject({ kind: 'model-incompatible', message: expect.stringMatching(/cannot be taught with your photos: its last layer \(Dense, linear\) does not end in a softmax/) });
      expect(tf.memory().numTensors).toBe(count);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
