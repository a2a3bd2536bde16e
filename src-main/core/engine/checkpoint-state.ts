/**
 * The tensor side of a checkpoint: a compiled model's weights and its Adam state (both moments,
 * β₁ᵗ and β₂ᵗ exactly as tfjs keeps them, the step count) read into plain arrays and written back.
 * tfjs's own `optimizer.getWeights()/setWeights()` would recompute β₁ᵗ as a power on restore, a
 * float32 rounding away from the product the uninterrupted run has; these read and set the fields
 * themselves (tfjs 4.22's AdamOptimizer, which the fused Adam kernel and the fused Dense step also
 * keep), so a resumed run continues bit for bit.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { EpochMetrics } from '../../contract';
import { readCheckpoint, writeCheckpoint, type CheckpointData } from '../runs/checkpoints';
import { AtelierError } from '../errors';
import type { EpochEndState, ResumePoint } from './train';

type Tf = typeof tfType;

interface AdamInternals {
  beta1: number;
  beta2: number;
  accBeta1?: tfType.Variable;
  accBeta2?: tfType.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tfType.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tfType.Variable } | undefined>;
  iterations_?: number;
}

function adamOf(tf: Tf, model: tfType.LayersModel): AdamInternals {
  const optimizer: unknown = model.optimizer;
  const fields = optimizer as Partial<AdamInternals> | undefined;
  if (!(optimizer instanceof tf.AdamOptimizer) || !Array.isArray(fields?.accumulatedFirstMoment) || !Array.isArray(fields?.accumulatedSecondMoment)) {
    throw new AtelierError('internal', 'Checkpoints need the model compiled with tfjs 4.22’s Adam optimizer.');
  }
  return fields as AdamInternals;
}

/** The model's weights (every one, in `model.weights` order) as copies. */
export function readWeights(model: tfType.LayersModel): CheckpointData['weights'] {
  return model.weights.map((weight) => ({ name: weight.originalName, shape: [...weight.shape] as number[], values: (weight.read().dataSync() as Float32Array).slice() }));
}

/** Put weights read by `readWeights` (of a model with the same layers) back. */
export function writeWeights(tf: Tf, model: tfType.LayersModel, weights: CheckpointData['weights']): void {
  if (weights.length !== model.weights.length) throw new AtelierError('checkpoint-damaged', `The checkpoint holds ${weights.length} weight tensors; this model has ${model.weights.length}.`);
  tf.tidy(() => {
    model.weights.forEach((weight, i) => {
      const saved = weights[i]!;
      if (saved.shape.join('×') !== weight.shape.join('×')) {
        throw new AtelierError('checkpoint-damaged', `The checkpoint's weight ${saved.name} is ${saved.shape.join('×')}; the model's ${weight.originalName} is ${weight.shape.join('×')}.`);
      }
      weight.write(tf.tensor(saved.values, saved.shape, 'float32'));
    });
  });
}

/** Adam's state as `trainOnBatch` (or the fused Dense step, after `sync()`) left it. */
export function readOptimizer(tf: Tf, model: tfType.LayersModel): CheckpointData['optimizer'] {
  const adam = adamOf(tf, model);
  const trainable = model.trainableWeights;
  const moment = (list: AdamInternals['accumulatedFirstMoment'], i: number): Float32Array =>
    list[i] ? (list[i]!.variable.dataSync() as Float32Array).slice() : new Float32Array(trainable[i]!.shape.reduce<number>((a, b) => a * (b ?? 1), 1));
  return {
    iterations: adam.iterations_ ?? 0,
    accBeta1: adam.accBeta1 ? adam.accBeta1.dataSync()[0]! : Math.fround(adam.beta1),
    accBeta2: adam.accBeta2 ? adam.accBeta2.dataSync()[0]! : Math.fround(adam.beta2),
    first: trainable.map((weight, i) => ({ shape: [...weight.shape] as number[], values: moment(adam.accumulatedFirstMoment, i) })),
    second: trainable.map((_weight, i) => moment(adam.accumulatedSecondMoment, i)),
  };
}

/** Give the model's Adam the saved state (its moments by variable position, as tfjs indexes them). */
export function writeOptimizer(tf: Tf, model: tfType.LayersModel, saved: CheckpointData['optimizer']): void {
  const adam = adamOf(tf, model);
  const trainable = model.trainableWeights;
  if (saved.first.length !== trainable.length) throw new AtelierError('checkpoint-damaged', `The checkpoint holds Adam moments for ${saved.first.length} weights; this model trains ${trainable.length}.`);
  trainable.forEach((weight, i) => {
    const name = (weight.read() as tfType.Variable).name;
    for (const [list, values, suffix] of [
      [adam.accumulatedFirstMoment, saved.first[i]!.values, 'm'],
      [adam.accumulatedSecondMoment, saved.second[i]!, 'v'],
    ] as const) {
      list[i]?.variable.dispose();
      list[i] = { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.tensor(values, weight.shape as number[], 'float32').variable(false)) };
    }
  });
  adam.accBeta1 ??= tf.tidy(() => tf.scalar(adam.beta1).variable());
  adam.accBeta2 ??= tf.tidy(() => tf.scalar(adam.beta2).variable());
  tf.tidy(() => {
    adam.accBeta1!.assign(tf.scalar(saved.accBeta1));
    adam.accBeta2!.assign(tf.scalar(saved.accBeta2));
  });
  adam.iterations_ = saved.iterations;
}

/** Set the learning rate Adam steps with from the next batch on (tfjs's and the fused kernel's read it at every step). */
export function setOptimizerLearningRate(model: tfType.LayersModel, rate: number): void {
  (model.optimizer as unknown as { learningRate: number }).learningRate = rate;
}

/** Write the model's state after an epoch as that epoch's checkpoint (keeping the best epoch's while early stopping may return to it). */
export async function saveCheckpoint(tf: Tf, model: tfType.LayersModel, runDir: string, metrics: EpochMetrics, state: EpochEndState): Promise<number> {
  return writeCheckpoint(
    runDir,
    { epoch: metrics.epoch, metrics, weights: readWeights(model), optimizer: readOptimizer(tf, model), ...state },
    { alsoKeep: state.earlyStopping?.bestEpoch ?? null },
  );
}

/**
 * Give a freshly built or loaded model (compiled, same layers) the state of a checkpoint and say
 * where training goes on from; the best epoch's weights come from its own checkpoint when early
 * stopping tracks an earlier epoch.
 */
export async function resumeFromCheckpoint(tf: Tf, model: tfType.LayersModel, runDir: string, epoch: number): Promise<{ point: ResumePoint; scheduleFromEpoch: number }> {
  const checkpoint = await readCheckpoint(runDir, epoch);
  writeWeights(tf, model, checkpoint.weights);
  writeOptimizer(tf, model, checkpoint.optimizer);
  const bestEpoch = checkpoint.earlyStopping?.bestEpoch ?? epoch;
  const bestWeights = bestEpoch !== epoch ? (await readCheckpoint(runDir, bestEpoch)).weights : null;
  return {
    point: { epoch, samples: checkpoint.samples, dropoutStep: checkpoint.dropoutStep, earlyStopping: checkpoint.earlyStopping, bestWeights },
    scheduleFromEpoch: checkpoint.scheduleFromEpoch,
  };
}
