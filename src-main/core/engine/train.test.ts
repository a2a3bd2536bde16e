import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../../contract';
import { findDataset } from '../dataset/sources';
import { loadDataset, type FashionMnist } from '../dataset/store';
import { buildModel } from './models';
import { gatherPixels, predictProbabilities } from './tensors';
import { splitIndices, trainModel } from './train';
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
});
