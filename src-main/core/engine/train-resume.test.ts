/**
 * The training loop's side of issue 17: the generators' state round-trips, the loop applies the
 * learning-rate schedule to every batch (tfjs's Adam and the fused Dense step alike), early
 * stopping keeps the best epoch's weights, and a training continued from a checkpoint ends where
 * an uninterrupted one does.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../../contract';
import { findDataset } from '../dataset/sources';
import { loadDataset, type FashionMnist } from '../dataset/store';
import { PIXELS_PER_IMAGE } from '../fashion-mnist';
import { checkpointEpochs } from '../runs/checkpoints';
import { readOptimizer, readWeights, resumeFromCheckpoint, saveCheckpoint } from './checkpoint-state';
import { learningRateAt } from './lr-schedule';
import { buildModel, disposeModel } from './models';
import { trainModel, TrainingSamples, type ExtraImages } from './train';
import { registerWasmTrainingKernels } from './wasm-kernels';

const haveData = existsSync('/usr/share/datasets/fashion-mnist');
const config = (patch: Partial<TrainingConfig> = {}): TrainingConfig => ({
  preset: 'tutorial-mlp', epochs: 3, batchSize: 32, learningRate: 0.002, hiddenUnits: 32, validationSplit: 0.1, seed: 11, trainLimit: 1000, ...patch,
});

function largestDifference(a: readonly { values: Float32Array }[], b: readonly { values: Float32Array }[]): number {
  expect(a.length).toBe(b.length);
  let largest = 0;
  a.forEach((weight, i) => weight.values.forEach((value, j) => (largest = Math.max(largest, Math.abs(value - b[i]!.values[j]!)))));
  return largest;
}

describe('TrainingSamples snapshot and restore', () => {
  const count = 400;
  const data = { images: new Uint8Array(count * PIXELS_PER_IMAGE), labels: new Uint8Array(count), count };
  for (let i = 0; i < data.images.length; i++) data.images[i] = (i * 31 + (i >> 9)) % 256;
  for (let i = 0; i < count; i++) data.labels[i] = i % 10;
  const photos: ExtraImages = { images: data.images.slice(0, 5 * PIXELS_PER_IMAGE), labels: new Uint8Array([1, 2, 3, 4, 5]), share: 0.2 };

  it('continues the same epochs, photos cycle and augmentation draws from a snapshot (photo-robust, with photos)', () => {
    const cfg = config({ preset: 'photo-robust', trainLimit: 400, validationSplit: 0.1 });
    const straight = new TrainingSamples(cfg, data, { extra: photos });
    straight.batchPixels(straight.nextEpoch(), 0, 64);
    const snapshot = straight.snapshot();
    const expectedOrder = straight.nextEpoch().slice();
    const expectedPixels = straight.batchPixels(expectedOrder, 0, 64);

    const resumed = new TrainingSamples(cfg, data, { extra: photos });
    resumed.restore(snapshot);
    const order = resumed.nextEpoch();
    expect(Array.from(order)).toEqual(Array.from(expectedOrder));
    expect(resumed.batchPixels(order, 0, 64)).toEqual(expectedPixels);
    // A fresh one without the snapshot would not: the test can tell.
    const fresh = new TrainingSamples(cfg, data, { extra: photos });
    expect(Array.from(fresh.nextEpoch())).not.toEqual(Array.from(expectedOrder));
  });

  it('refuses a snapshot of another split', () => {
    const snapshot = new TrainingSamples(config({ trainLimit: 400 }), data).snapshot();
    expect(() => new TrainingSamples(config({ trainLimit: 300 }), data).restore(snapshot)).toThrow(/holds 360 samples/);
  });
});

describe.skipIf(!haveData)('training loop on wasm: schedules, early stopping, checkpoints (real Fashion-MNIST)', () => {
  let data: FashionMnist;
  let home: string;

  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    registerWasmTrainingKernels(tf);
    data = await loadDataset((await findDataset({ env: {}, home: '/nonexistent-atelier-home', systemDir: '/usr/share/datasets/fashion-mnist' }))!);
    home = mkdtempSync(join(tmpdir(), 'atelier-train-resume-'));
  });

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('sets the scheduled rate on Adam before every batch and records each epoch’s first rate', async () => {
    const cfg = config({ epochs: 2, trainLimit: 320, validationSplit: 0, schedule: { kind: 'step', everyEpochs: 1, factor: 0.5 } });
    const model = buildModel(tf, cfg);
    const optimizer = model.optimizer as unknown as { learningRate: number };
    const rates: number[] = [];
    let rate = optimizer.learningRate;
    Object.defineProperty(optimizer, 'learningRate', { get: () => rate, set: (value: number) => (rates.push(value), (rate = value)), configurable: true });
    const outcome = await trainModel(tf, model, cfg, data.train, {}, { denseStack: false });
    // 10 batches per epoch: 0.002 for the first ten, 0.001 for the next ten, as lr-schedule.ts documents.
    expect(rates).toEqual([...Array(10).fill(0.002), ...Array(10).fill(0.001)]);
    expect(outcome.metrics.map((epoch) => epoch.learningRate)).toEqual([0.002, 0.001]);
    disposeModel(model);
  });

  it('one-cycle through the loop gives lr-schedule’s rate for every batch', async () => {
    const cfg = config({ epochs: 2, trainLimit: 320, validationSplit: 0, schedule: { kind: 'one-cycle' } });
    const model = buildModel(tf, cfg);
    const optimizer = model.optimizer as unknown as { learningRate: number };
    const rates: number[] = [];
    let rate = optimizer.learningRate;
    Object.defineProperty(optimizer, 'learningRate', { get: () => rate, set: (value: number) => (rates.push(value), (rate = value)), configurable: true });
    await trainModel(tf, model, cfg, data.train, {}, { denseStack: false });
    expect(rates).toEqual(Array.from({ length: 20 }, (_, step) => learningRateAt(cfg.schedule, cfg.learningRate, { step, stepsPerEpoch: 10, totalSteps: 20 })));
    expect(rates[0]).toBeCloseTo(0.002 / 25, 12);
    disposeModel(model);
  });

  it('the fused Dense step honours a changing rate: same weights as trainOnBatch under a cosine schedule', async () => {
    const cfg = config({ epochs: 2, trainLimit: 640, validationSplit: 0, learningRate: 0.01, schedule: { kind: 'cosine' } });
    const train = async (denseStack: boolean) => {
      const model = buildModel(tf, cfg);
      const outcome = await trainModel(tf, model, cfg, data.train, {}, { denseStack });
      const weights = readWeights(model);
      disposeModel(model);
      return { weights, stepper: outcome.stepper.kind };
    };
    const fused = await train(true);
    const layers = await train(false);
    expect(fused.stepper).toBe('dense-stack');
    expect(layers.stepper).not.toBe('dense-stack');
    expect(largestDifference(fused.weights, layers.weights)).toBeLessThan(1e-4);
    // The same run at a constant rate ends elsewhere, so the comparison above can fail.
    const constant = buildModel(tf, { ...cfg, schedule: { kind: 'constant' } });
    await trainModel(tf, constant, { ...cfg, schedule: { kind: 'constant' } }, data.train);
    expect(largestDifference(fused.weights, readWeights(constant))).toBeGreaterThan(1e-3);
    disposeModel(constant);
  });

  it('early stopping stops after `patience` epochs without a better validation loss and keeps the best epoch’s weights', async () => {
    // 300 images, half held out, a high rate: it overfits within a few epochs.
    const cfg = config({ epochs: 30, trainLimit: 300, validationSplit: 0.5, learningRate: 0.01, hiddenUnits: 64, earlyStopping: { patience: 2 } });
    const model = buildModel(tf, cfg);
    const weightsByEpoch = new Map<number, ReturnType<typeof readWeights>>();
    const outcome = await trainModel(tf, model, cfg, data.train, { onEpoch: (metrics) => void weightsByEpoch.set(metrics.epoch, readWeights(model)) });
    const losses = outcome.metrics.map((epoch) => epoch.valLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(outcome.earlyStop).toEqual({ stoppedAfterEpoch: best + 2, bestEpoch: best, bestValLoss: losses[best - 1], patience: 2 });
    expect(outcome.epochsCompleted).toBe(best + 2);
    expect(outcome.metrics).toHaveLength(best + 2);
    expect(largestDifference(readWeights(model), weightsByEpoch.get(best)!)).toBe(0);
    expect(largestDifference(readWeights(model), weightsByEpoch.get(best + 2)!)).toBeGreaterThan(0);
    disposeModel(model);
  });

  for (const preset of ['tutorial-mlp', 'cnn'] as const) {
    it(`${preset}: stopped after epoch 1 and continued from its checkpoint ends with the same weights and Adam state as never stopped`, async () => {
      const cfg = config({ preset, epochs: 3, trainLimit: preset === 'cnn' ? 400 : 1600, schedule: { kind: 'cosine' }, earlyStopping: { patience: 5 } });
      const straightModel = buildModel(tf, cfg);
      const straight = await trainModel(tf, straightModel, cfg, data.train);

      const runDir = mkdtempSync(join(home, `${preset}-`));
      const first = buildModel(tf, cfg);
      let last = { epoch: 0, batch: 0, batches: 1 };
      const stopped = await trainModel(tf, first, cfg, data.train, {
        onEpoch: (metrics, state) => saveCheckpoint(tf, first, runDir, metrics, state).then(() => undefined),
        onBatch: (report) => void (last = report),
        batchIntervalMs: 0,
        // Stop halfway through epoch 2: what it trained of that epoch is lost, the checkpoint of epoch 1 is not.
        shouldStop: () => last.epoch === 2 && last.batch >= last.batches / 2,
      });
      expect(stopped).toMatchObject({ stopped: true, epochsCompleted: 1 });
      expect(await checkpointEpochs(runDir)).toEqual([1]);
      disposeModel(first);

      const second = buildModel(tf, cfg);
      // Zero weights: everything it ends with must come from the checkpoint.
      second.setWeights(second.getWeights().map((weight) => tf.zerosLike(weight)));
      const { point, scheduleFromEpoch } = await resumeFromCheckpoint(tf, second, runDir, 1);
      const resumed = await trainModel(tf, second, cfg, data.train, {}, { resume: point, scheduleFromEpoch });
      expect(resumed.metrics.map((epoch) => epoch.epoch)).toEqual([2, 3]);
      expect(resumed.metrics.map((epoch) => epoch.learningRate)).toEqual(straight.metrics.slice(1).map((epoch) => epoch.learningRate));
      expect(largestDifference(readWeights(second), readWeights(straightModel))).toBeLessThan(1e-5);
      const [a, b] = [readOptimizer(tf, second), readOptimizer(tf, straightModel)];
      expect(a.iterations).toBe(b.iterations);
      expect(a.accBeta1).toBe(b.accBeta1);
      expect(largestDifference(a.first, b.first)).toBeLessThan(1e-5);
      expect(resumed.metrics.at(-1)!.valLoss).toBeCloseTo(straight.metrics.at(-1)!.valLoss!, 5);
      disposeModel(second);
      disposeModel(straightModel);
    }, 120_000);
  }

  it('leaks no tensor across checkpoint, resume and training', async () => {
    const cfg = config({ epochs: 2, trainLimit: 320 });
    const runDir = mkdtempSync(join(home, 'leak-'));
    const before = tf.memory().numTensors;
    const model = buildModel(tf, cfg);
    await trainModel(tf, model, { ...cfg, epochs: 1 }, data.train, { onEpoch: (metrics, state) => saveCheckpoint(tf, model, runDir, metrics, state).then(() => undefined) });
    disposeModel(model);
    const again = buildModel(tf, cfg);
    const { point } = await resumeFromCheckpoint(tf, again, runDir, 1);
    await trainModel(tf, again, cfg, data.train, {}, { resume: point });
    disposeModel(again);
    expect(tf.memory().numTensors).toBe(before);
  });
});
