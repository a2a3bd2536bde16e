import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../../contract';
import { findDataset } from '../dataset/sources';
import { loadDataset, type FashionMnist } from '../dataset/store';
import { BEST_DEFAULTS, buildModel, describePresets, disposeModel, presetCatalogue, trainingAugmentation } from './models';
import { trainModel } from './train';
import { registerWasmTrainingKernels } from './wasm-kernels';

const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
const best = presetCatalogue().find((preset) => preset.id === 'best')!;
const config = (patch: Partial<TrainingConfig> = {}): TrainingConfig => ({ ...best.defaults, ...patch });

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels(tf);
});

describe('the best preset', () => {
  it('is offered with its recipe: one-cycle schedule, batches of 128, the images as they are', () => {
    expect(best.defaults).toMatchObject({ preset: 'best', schedule: { kind: 'one-cycle' }, batchSize: 128, hiddenUnits: 256, validationSplit: 0 });
    expect(best.defaults).toMatchObject(BEST_DEFAULTS);
    expect(trainingAugmentation('best')).toBeNull();
    expect(describePresets(tf).find((preset) => preset.id === 'best')!.parameters).toBe(buildModel(tf, best.defaults).countParams());
  });

  it('has the documented architecture: layer by layer shapes and parameter count', () => {
    const model = buildModel(tf, config());
    const layers = model.layers.map((layer) => [layer.getClassName(), (layer.outputShape as number[]).slice(1), layer.countParams()]);
    const bn = (channels: number) => 4 * channels; // gamma, beta (trained), moving mean and variance
    expect(layers).toEqual([
      ['Conv2D', [26, 26, 32], 3 * 3 * 1 * 32],
      ['BatchNormalization', [26, 26, 32], bn(32)],
      ['ReLU', [26, 26, 32], 0],
      ['MaxPooling2D', [13, 13, 32], 0],
      ['Conv2D', [11, 11, 64], 3 * 3 * 32 * 64],
      ['BatchNormalization', [11, 11, 64], bn(64)],
      ['ReLU', [11, 11, 64], 0],
      ['MaxPooling2D', [5, 5, 64], 0],
      ['Flatten', [1600], 0],
      ['Dropout', [1600], 0],
      ['Dense', [256], 1600 * 256 + 256],
      ['Dropout', [256], 0],
      ['Dense', [10], 256 * 10 + 10],
    ]);
    expect(model.countParams()).toBe(288 + 128 + 18_432 + 256 + 409_856 + 2_570);
    // The moving statistics are not trained: 2 × (32 + 64) of the parameters.
    expect(model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a, b) => a! * b!, 1)!, 0)).toBe(model.countParams() - 2 * (32 + 64));
    disposeModel(model);
  });

  describe.skipIf(!existsSync(SYSTEM_DIR))('on real Fashion-MNIST (a small slice)', () => {
    let data: FashionMnist;
    beforeAll(async () => {
      const source = await findDataset({ env: {}, home: '/nonexistent-atelier-home', systemDir: SYSTEM_DIR });
      data = await loadDataset(source!);
    });

    it('trains on every core with its schedule, learns, and leaks no tensors from epoch to epoch', async () => {
      const small = config({ epochs: 3, trainLimit: 1024, validationSplit: 0.25 });
      const model = buildModel(tf, small);
      const afterEpoch: number[] = [];
      const outcome = await trainModel(tf, model, small, data.train, { onEpoch: () => void afterEpoch.push(tf.memory().numTensors) }, { threads: 2 });
      expect(outcome.stepper).toEqual({ kind: 'parallel', threads: 2, shardSize: 32 });
      expect(outcome.metrics).toHaveLength(3);
      expect(afterEpoch[2]).toBe(afterEpoch[1]);
      const last = outcome.metrics.at(-1)!;
      expect(last.loss).toBeLessThan(outcome.metrics[0]!.loss);
      // 18 batches of 128 (the first third warming up): the training batches well above chance (10 %);
      // the 256 held-out images are scored with the moving statistics, which lag this early.
      expect(last.accuracy).toBeGreaterThan(0.4);
      expect(last.valAccuracy!).toBeGreaterThan(0.1);
      // Moving statistics moved away from their initial 0 / 1 (the parallel trainer averages the shards').
      const movingMean = model.layers[1]!.getWeights()[2]!.dataSync();
      expect(Array.from(movingMean).some((value) => Math.abs(value) > 1e-4)).toBe(true);
      disposeModel(model);
    }, 300_000);
  });
});
