import type * as tfNamespace from '@tensorflow/tfjs';
import { DenseStackTrainer, type DenseLayerSpec, type StepResult, type TrainerOptions } from './dense-step.js';

/**
 * Trains a tfjs LayersModel that is a Dense stack (the tutorial MLP and its hidden-units
 * variants) with `DenseStackTrainer` instead of `trainOnBatch`, on the wasm backend.
 *
 * The model's weights and its Adam state are copied into the trainer at the start and written
 * back by `sync()`, so the model ends in the state `trainOnBatch` would have left it in (the
 * optimizer's moments, β₁ᵗ, β₂ᵗ and step count included): saving, predicting and further
 * training work as before. Anything the trainer does not reproduce exactly makes
 * `denseStackTraining` return null with the reason, and the caller uses `trainOnBatch`.
 */

type Tf = typeof tfNamespace;

export interface DenseStackTraining {
  /** One batch: pixels as [0, 1] floats (count × inputs), labels as class indices. */
  step(pixels: Float32Array, labels: ArrayLike<number>, count: number): StepResult;
  /** The trainer's own buffer for a batch of `count` images as bytes (0–255), to copy into; then `stepOnBytes`, which scales them by 1/255. */
  inputByteBuffer(count: number): Uint8Array;
  stepOnBytes(labels: ArrayLike<number>, count: number): StepResult;
  /** Write the trained weights and Adam's state back into the model. */
  sync(): void;
  /** The learning rate of the next steps (schedules change it per batch). */
  setLearningRate(rate: number): void;
  /** End the trainer's helper threads (after the last `sync`). */
  dispose(): void;
  /** Threads sharing each step. */
  readonly threads: number;
}

export type DenseStackLookup = { training: DenseStackTraining; reason?: undefined } | { training: null; reason: string };

/** The private fields of tfjs 4.22's AdamOptimizer read and written here. */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1?: tfNamespace.Variable;
  accBeta2?: tfNamespace.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tfNamespace.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tfNamespace.Variable } | undefined>;
  /** Undefined until the first step. */
  iterations_?: number;
}

interface DenseConfig {
  units: number;
  activation: string;
  useBias: boolean;
  kernelRegularizer?: unknown;
  biasRegularizer?: unknown;
  activityRegularizer?: unknown;
  kernelConstraint?: unknown;
  biasConstraint?: unknown;
}

/** Why `model` cannot be trained as a Dense stack, or its layers. */
export function describeDenseStack(model: tfNamespace.LayersModel): { layers: DenseLayerSpec[] } | { reason: string } {
  const inputShape = (model.inputs[0]?.shape ?? []).slice(1);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return { reason: 'the model has more than one input or output' };
  if (inputShape.some((d) => d == null)) return { reason: 'the input shape is not fixed' };
  let width = (inputShape as number[]).reduce((a, b) => a * b, 1);
  const layers: DenseLayerSpec[] = [];
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'Flatten' && layers.length === 0) continue;
    if (kind !== 'Dense') return { reason: `it has a ${kind} layer` };
    if (!layer.trainable) return { reason: `layer ${layer.name} is frozen` };
    const config = layer.getConfig() as unknown as DenseConfig;
    if (config.useBias === false) return { reason: `layer ${layer.name} has no bias` };
    for (const key of ['kernelRegularizer', 'biasRegularizer', 'activityRegularizer', 'kernelConstraint', 'biasConstraint'] as const) {
      if (config[key] != null) return { reason: `layer ${layer.name} has a ${key.replace(/[A-Z]/, (c) => ` ${c.toLowerCase()}`)}` };
    }
    if (!['relu', 'linear', 'softmax'].includes(config.activation)) return { reason: `layer ${layer.name} uses ${config.activation}` };
    layers.push({ inputs: width, units: config.units, activation: config.activation as DenseLayerSpec['activation'] });
    width = config.units;
  }
  if (layers.length === 0) return { reason: 'it has no Dense layer' };
  if (layers.at(-1)!.activation !== 'softmax') return { reason: 'its last layer is not softmax' };
  if (layers.slice(0, -1).some((l) => l.activation === 'softmax')) return { reason: 'a hidden layer is softmax' };
  return { layers };
}

function isAdam(tf: Tf, optimizer: unknown): optimizer is AdamState {
  const o = optimizer as Partial<AdamState>;
  return optimizer instanceof tf.AdamOptimizer && Array.isArray(o.accumulatedFirstMoment) && Array.isArray(o.accumulatedSecondMoment);
}

/**
 * A Dense-stack trainer for `model` when the wasm backend is active and the model is a Dense
 * stack compiled with Adam and sparse categorical cross-entropy (accuracy as its only metric);
 * otherwise null and why.
 */
export function denseStackTraining(tf: Tf, model: tfNamespace.LayersModel, maxBatch: number, options: TrainerOptions = {}): DenseStackLookup {
  if (tf.getBackend() !== 'wasm') return { training: null, reason: `the backend is ${tf.getBackend()}` };
  const described = describeDenseStack(model);
  if ('reason' in described) return { training: null, reason: described.reason };
  const optimizer = model.optimizer as unknown;
  if (!isAdam(tf, optimizer)) return { training: null, reason: 'the optimizer is not Adam' };
  if (model.loss !== 'sparseCategoricalCrossentropy') return { training: null, reason: `the loss is ${String(model.loss)}` };
  const metrics = model.metricsNames.slice(1);
  if (metrics.length > 1 || (metrics.length === 1 && metrics[0] !== 'acc')) return { training: null, reason: `it reports ${metrics.join(', ')}` };
  if (!metrics.length) return { training: null, reason: 'it reports no accuracy' };

  const { layers } = described;
  const trainer = DenseStackTrainer.create(layers, maxBatch, {
    learningRate: optimizer.learningRate,
    beta1: optimizer.beta1,
    beta2: optimizer.beta2,
    epsilon: optimizer.epsilon,
  }, options);
  if (!trainer) return { training: null, reason: 'WebAssembly SIMD is not available' };

  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  // The order tfjs's training function hands gradients to Adam, which indexes its moments by it.
  const variables = dense.flatMap((l) => l.trainableWeights.map((w) => w.read() as tfNamespace.Variable));
  const names = dense.flatMap((l) => l.trainableWeights.map((w) => w.originalName));
  const order = model.trainableWeights.map((w) => w.originalName);
  if (order.join('\n') !== names.join('\n')) {
    trainer.dispose();
    return { training: null, reason: 'its weights are not in layer order' };
  }

  dense.forEach((layer, i) => {
    const [kernel, bias] = layer.getWeights();
    trainer.setWeights(i, kernel!.dataSync(), bias!.dataSync());
    for (const which of [1, 2] as const) {
      const moments = which === 1 ? optimizer.accumulatedFirstMoment : optimizer.accumulatedSecondMoment;
      const k = moments[2 * i]?.variable;
      const b = moments[2 * i + 1]?.variable;
      if (k && b) trainer.setMoments(i, which, k.dataSync(), b.dataSync());
    }
  });
  if (optimizer.accBeta1 && optimizer.accBeta2) {
    trainer.setAdamProgress({ accBeta1: optimizer.accBeta1.dataSync()[0]!, accBeta2: optimizer.accBeta2.dataSync()[0]!, iterations: optimizer.iterations_ ?? 0 });
  } else {
    trainer.setAdamProgress({ accBeta1: optimizer.beta1, accBeta2: optimizer.beta2, iterations: optimizer.iterations_ ?? 0 });
  }

  const sync = (): void => {
    tf.tidy(() => {
      dense.forEach((layer, i) => {
        const w = trainer.getWeights(i);
        layer.setWeights([tf.tensor(w.kernel, [layers[i]!.inputs, layers[i]!.units]), tf.tensor(w.bias, [layers[i]!.units])]);
      });
    });
    const progress = trainer.getAdamProgress();
    // Adam's state exactly as tfjs's applyGradients would have made it (names included).
    variables.forEach((variable, v) => {
      const layer = Math.floor(v / 2);
      for (const which of [1, 2] as const) {
        const moments = which === 1 ? optimizer.accumulatedFirstMoment : optimizer.accumulatedSecondMoment;
        const values = trainer.getMoments(layer, which)[v % 2 === 0 ? 'kernel' : 'bias'];
        const fresh = tf.tensor(values, variable.shape);
        if (moments[v] == null) moments[v] = { originalName: `${variable.name}/${which === 1 ? 'm' : 'v'}`, variable: fresh.variable(false) };
        else moments[v]!.variable.assign(fresh);
        fresh.dispose();
      }
    });
    if (progress.iterations > 0) {
      // (tidy frees the scalars and keeps the variables, as tfjs's own constructor does)
      optimizer.accBeta1 ??= tf.tidy(() => tf.scalar(optimizer.beta1).variable());
      optimizer.accBeta2 ??= tf.tidy(() => tf.scalar(optimizer.beta2).variable());
      tf.tidy(() => {
        optimizer.accBeta1!.assign(tf.scalar(progress.accBeta1));
        optimizer.accBeta2!.assign(tf.scalar(progress.accBeta2));
      });
    }
    optimizer.iterations_ = progress.iterations;
  };

  return {
    training: {
      step: (pixels, labels, count) => trainer.step(pixels, labels, count),
      inputByteBuffer: (count) => trainer.inputByteBuffer(count),
      stepOnBytes: (labels, count) => trainer.stepOnBytes(labels, count),
      sync,
      setLearningRate: (rate) => trainer.setLearningRate(rate),
      dispose: () => trainer.dispose(),
      threads: trainer.threads,
    },
    reason: undefined,
  };
}
