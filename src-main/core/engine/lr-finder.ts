/**
 * The learning-rate finder (Leslie Smith's range test, as fastai's `lr_find`): train a copy of the
 * model for a few hundred batches while the rate rises exponentially, record each batch's loss,
 * and suggest the rate where the smoothed loss falls fastest. The model given is never trained:
 * the sweep runs on a copy made through the layers format (topology and weights), with a fresh Adam.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { LearningRateSweep, TrainingConfig } from '../../contract';
import { compileModel, disposeModel } from './models';
import { setOptimizerLearningRate } from './checkpoint-state';
import { inputTensor } from './tensors';
import { dropoutSeeds, TrainingSamples, type LabelledImages } from './train';

type Tf = typeof tfType;

/** fastai's defaults, but ending at 1: the contract's highest learning rate, and far past where Adam diverges here. */
export const FINDER_DEFAULTS = { batches: 200, minRate: 1e-6, maxRate: 1, smoothing: 0.98, divergeFactor: 4 } as const;

export interface SweepOptions {
  batches?: number;
  minRate?: number;
  maxRate?: number;
  /** Checked before every batch; true ends the sweep with what was measured. */
  shouldStop?: () => boolean;
}

/** A model with the same layers and weights, not sharing a variable with `model`. */
export async function copyModel(tf: Tf, model: tfType.LayersModel): Promise<tfType.LayersModel> {
  let artifacts: tfType.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return tf.loadLayersModel(tf.io.fromMemory(artifacts!));
}

/**
 * fastai's "steep" suggestion: the rate where the smoothed loss drops fastest against log(rate),
 * leaving out the first tenth of the sweep (still warming the average) and the last five points.
 */
export function steepestRate(points: readonly { rate: number; smoothed: number }[]): number {
  const start = Math.floor(points.length / 10);
  const end = Math.max(start + 2, points.length - 5);
  const kept = points.slice(start, Math.min(end, points.length));
  if (kept.length < 2) return points[Math.floor(points.length / 2)]?.rate ?? Number.NaN;
  let best = 0;
  let steepest = Number.POSITIVE_INFINITY;
  for (let i = 0; i + 1 < kept.length; i++) {
    const slope = (kept[i + 1]!.smoothed - kept[i]!.smoothed) / (Math.log(kept[i + 1]!.rate) - Math.log(kept[i]!.rate));
    if (slope < steepest) {
      steepest = slope;
      best = i;
    }
  }
  return kept[best]!.rate;
}

/** Sweep the learning rate on a copy of `model` with the config's batches (its seed, split and augmentation). */
export async function findLearningRate(tf: Tf, model: tfType.LayersModel, config: TrainingConfig, data: LabelledImages, options: SweepOptions = {}): Promise<LearningRateSweep> {
  const started = performance.now();
  const batches = options.batches ?? FINDER_DEFAULTS.batches;
  const minRate = options.minRate ?? FINDER_DEFAULTS.minRate;
  const maxRate = options.maxRate ?? FINDER_DEFAULTS.maxRate;
  const samples = new TrainingSamples(config, data);
  const copy = await copyModel(tf, model);
  compileModel(tf, copy, minRate);
  const dropouts = dropoutSeeds(copy);
  const inputShape = (copy.inputs[0]!.shape as (number | null)[]).slice(1) as number[];
  const points: LearningRateSweep['points'] = [];
  let order = samples.nextEpoch();
  let position = 0;
  let average = 0;
  let lowest = Number.POSITIVE_INFINITY;
  let stoppedEarly = false;
  try {
    for (let i = 0; i < batches; i++) {
      if (options.shouldStop?.()) {
        stoppedEarly = true;
        break;
      }
      if (position + config.batchSize > order.length) {
        order = samples.nextEpoch();
        position = 0;
      }
      const end = Math.min(order.length, position + config.batchSize);
      const rate = minRate * (maxRate / minRate) ** (i / Math.max(1, batches - 1));
      setOptimizerLearningRate(copy, rate);
      dropouts.next(i + 1);
      const xs = inputTensor(tf, samples.batchPixels(order, position, end), inputShape);
      const ys = tf.tensor2d(samples.batchLabels(order, position, end), [end - position, 1], 'float32');
      let loss: number;
      try {
        const result = await copy.trainOnBatch(xs, ys);
        loss = Array.isArray(result) ? result[0]! : result;
      } finally {
        xs.dispose();
        ys.dispose();
      }
      position = end;
      if (!Number.isFinite(loss)) {
        stoppedEarly = true;
        break;
      }
      average = FINDER_DEFAULTS.smoothing * average + (1 - FINDER_DEFAULTS.smoothing) * loss;
      const smoothed = average / (1 - FINDER_DEFAULTS.smoothing ** (i + 1));
      points.push({ rate, loss, smoothed });
      lowest = Math.min(lowest, smoothed);
      if (i > 0 && smoothed > FINDER_DEFAULTS.divergeFactor * lowest) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    disposeModel(copy);
  }
  if (points.length < 2) throw new Error('The learning-rate sweep diverged at once; the model or its data cannot be trained as they are.');
  return { points, suggestion: steepestRate(points), minRate, maxRate, batches, stoppedEarly, seconds: (performance.now() - started) / 1000 };
}
