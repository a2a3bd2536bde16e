import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../../contract';
import { findDataset } from '../dataset/sources';
import { loadDataset, type FashionMnist } from '../dataset/store';
import { buildModel } from './models';
import { gatherPixels, predictProbabilities } from './tensors';
import { dropoutSeeds, splitIndices, trainModel } from './train';
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
      const outcome = await trainModel(tf, model, config({ epochs: 1 }), data.train, {}, { denseStack });
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

  it('says why a model is not trained with the fused step (the CNN has convolutions)', async () => {
    const cnn = config({ preset: 'cnn', epochs: 1, trainLimit: 64, validationSplit: 0 });
    const model = buildModel(tf, cnn);
    const outcome = await trainModel(tf, model, cnn, data.train);
    expect(outcome.stepper).toEqual({ kind: 'trainOnBatch', reason: 'it has a Conv2D layer' });
    model.dispose();
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
      const outcome = await trainModel(tf, model, small, data.train);
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

