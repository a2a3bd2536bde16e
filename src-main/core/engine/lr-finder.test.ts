import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../../contract';
import { findDataset } from '../dataset/sources';
import { loadDataset, type FashionMnist } from '../dataset/store';
import { readOptimizer, readWeights } from './checkpoint-state';
import { findLearningRate, steepestRate } from './lr-finder';
import { buildModel, disposeModel } from './models';
import { registerWasmTrainingKernels } from './wasm-kernels';

const haveData = existsSync('/usr/share/datasets/fashion-mnist');

describe('steepestRate (fastai’s "steep" suggestion)', () => {
  it('picks where the smoothed loss falls fastest against log(rate), skipping the first tenth and the last five points', () => {
    const rates = Array.from({ length: 40 }, (_, i) => 1e-5 * 10 ** (i / 8));
    // A gentle slope with one cliff from index 20 to 21, then a rise; a steeper drop at index 1 is in the skipped warm-up,
    // and one in the last five points is skipped too.
    const smoothed = rates.map((_, i) => (i === 1 ? -5 : i === 38 ? -9 : i <= 20 ? 2.3 - 0.02 * i : i < 30 ? 1.2 - 0.02 * (i - 21) : 1.0 + (i - 30) * 0.4));
    const points = rates.map((rate, i) => ({ rate, smoothed: smoothed[i]! }));
    expect(steepestRate(points)).toBe(rates[20]);
  });
});

describe.skipIf(!haveData)('findLearningRate on wasm (real Fashion-MNIST)', () => {
  let data: FashionMnist;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    registerWasmTrainingKernels(tf);
    data = await loadDataset((await findDataset({ env: {}, home: '/nonexistent-atelier-home', systemDir: '/usr/share/datasets/fashion-mnist' }))!);
  });

  for (const preset of ['tutorial-mlp', 'cnn'] as const) {
    it(`${preset}: the suggestion lies inside the sweep, the loss first falls then blows up, and the model given is untouched`, async () => {
      const config: TrainingConfig = { preset, epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 64, validationSplit: 0, seed: 2, trainLimit: null };
      const model = buildModel(tf, config);
      const weights = readWeights(model);
      const optimizer = readOptimizer(tf, model);
      const tensors = tf.memory().numTensors;
      const sweep = await findLearningRate(tf, model, config, data.train, { batches: preset === 'cnn' ? 120 : 300 });
      expect(tf.memory().numTensors).toBe(tensors);
      expect(readWeights(model)).toEqual(weights);
      expect(readOptimizer(tf, model)).toEqual(optimizer);
      const rates = sweep.points.map((point) => point.rate);
      expect(rates[0]).toBe(sweep.minRate);
      expect(rates.every((rate, i) => i === 0 || rate > rates[i - 1]!)).toBe(true);
      expect(rates).toContain(sweep.suggestion);
      expect(sweep.suggestion).toBeGreaterThan(sweep.minRate);
      expect(sweep.suggestion).toBeLessThan(rates.at(-1)!);
      // Somewhere the smoothed loss went below its start: the sweep saw the model learn.
      expect(Math.min(...sweep.points.map((point) => point.smoothed))).toBeLessThan(sweep.points[0]!.smoothed * 0.8);
      disposeModel(model);
    }, 120_000);
  }
});
