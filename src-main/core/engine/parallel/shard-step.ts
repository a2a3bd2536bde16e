/**
 * One shard of a training batch: the forward pass, Keras' sparse categorical cross-entropy and
 * the gradients of every trainable weight, computed the same way on the engine thread and on each
 * helper thread (`shard-worker.ts`), so a batch split into fixed shards gives the same bits on any
 * number of threads. The shard's loss is its share of the batch's mean loss (sum / batch size),
 * so the shards' gradients add up to the gradient `trainOnBatch` takes of the whole batch.
 */
import type * as tfType from '@tensorflow/tfjs';
import { CLASS_COUNT } from '../../fashion-mnist';

type Tf = typeof tfType;

/** Keras' fuzz factor (tfjs-layers' epsilon()), used by its two clips of the probabilities. */
const EPSILON = 1e-7;

/** A LayerVariable of tfjs-layers: `read()` is the tf.Variable, `write()` assigns it. */
export interface LayerWeight {
  read(): tfType.Variable;
  write(value: tfType.Tensor): void;
  shape: number[];
  name: string;
}

/** The weights of a model as the parallel trainer moves them around: all of them, in `model.weights` order. */
export function modelWeights(model: tfType.LayersModel): { all: LayerWeight[]; trainable: LayerWeight[]; state: LayerWeight[] } {
  const all = model.weights as unknown as LayerWeight[];
  const trainable = model.trainableWeights as unknown as LayerWeight[];
  const trainableSet = new Set<LayerWeight>(trainable);
  return { all, trainable, state: all.filter((weight) => !trainableSet.has(weight)) };
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((product, side) => product * side, 1);

/**
 * tfjs-layers always runs Conv2D through `fused.conv2d`, whose gradient computes the input's
 * gradient eagerly (it is a custom gradient); for the first layer that is the gradient of the
 * images, a full Conv2DBackpropInput nobody reads (about a quarter of the CNN's step on wasm).
 * During training the first layer, when it is a Conv2D on the model's input, runs as the plain
 * `conv2d` + bias + activation instead, whose gradient tfjs only computes for the weights. The
 * arithmetic is the same; `restore()` puts the layer's own `call` back.
 */
export function plainFirstConvolution(model: tfType.LayersModel, tf: Tf): { restore(): void } {
  const first = model.layers[0] as unknown as {
    getClassName(): string;
    call: (inputs: tfType.Tensor | tfType.Tensor[], kwargs: unknown) => tfType.Tensor;
    kernel: LayerWeight;
    bias: LayerWeight | null;
    strides: [number, number];
    padding: 'valid' | 'same';
    dataFormat: string;
    dilationRate: number | number[];
    activation: { apply(x: tfType.Tensor): tfType.Tensor };
  };
  const dilation = first && [first.dilationRate].flat();
  if (!first || first.getClassName() !== 'Conv2D' || first.dataFormat !== 'channelsLast' || dilation.some((rate) => rate !== 1)) return { restore: () => {} };
  const own = Object.prototype.hasOwnProperty.call(first, 'call') ? first.call : null;
  first.call = (inputs) =>
    tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tfType.Tensor4D;
      let y: tfType.Tensor = tf.conv2d(x, first.kernel.read() as tfType.Tensor4D, first.strides, first.padding);
      if (first.bias) y = tf.add(y, first.bias.read());
      return first.activation.apply(y);
    });
  return {
    restore: () => {
      if (own) first.call = own;
      else delete (first as { call?: unknown }).call;
    },
  };
}

/**
 * Dropout layers with a seed, and their own seeds: `set(offset)` gives each the layer's seed +
 * offset (a batch's or a shard's, see `shardSeed` and train.ts's `dropoutSeeds`), `restore()` the layer's own.
 */
export function seededDropouts(model: tfType.LayersModel): { set(offset: number): void; restore(): void } {
  const layers = model.layers
    .filter((layer) => layer.getClassName() === 'Dropout')
    .map((layer) => layer as unknown as { seed?: number })
    .filter((layer) => typeof layer.seed === 'number')
    .map((layer) => ({ layer, seed: layer.seed! }));
  return {
    set: (offset) => layers.forEach(({ layer, seed }) => (layer.seed = seed + offset)),
    restore: () => layers.forEach(({ layer, seed }) => (layer.seed = seed)),
  };
}

/**
 * The dropout seed offset of shard `shard` of batch `step` (counted from 1): every shard of every
 * batch draws its own masks, and the offset depends on neither the thread nor the thread count.
 */
export const shardSeed = (step: number, shard: number, shardsPerBatch: number): number => step * shardsPerBatch + shard;

export interface ShardResult {
  /** Sum of the shard's per-example losses (not divided). */
  lossSum: number;
  correct: number;
}

/**
 * Forward and backward over `count` examples; writes each trainable weight's gradient (already
 * divided by `batchTotal`) into `gradients` one after the other in `trainable` order.
 */
export function shardGradients(
  tf: Tf,
  model: tfType.LayersModel,
  trainable: readonly LayerWeight[],
  pixels: Float32Array,
  labels: Float32Array,
  batchTotal: number,
  gradients: Float32Array,
): ShardResult {
  const count = labels.length;
  const inputShape = (model.inputs[0]!.shape as (number | null)[]).slice(1) as number[];
  const oneHot = new Float32Array(count * CLASS_COUNT);
  for (let i = 0; i < count; i++) oneHot[i * CLASS_COUNT + labels[i]!] = 1;
  let correct = 0;
  const variables = trainable.map((weight) => weight.read());
  const lossSum = tf.tidy(() => {
    const xs = tf.tensor(pixels, [count, ...inputShape], 'float32');
    const targets = tf.tensor2d(oneHot, [count, CLASS_COUNT], 'float32');
    let predicted: tfType.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const probabilities = model.apply(xs, { training: true }) as tfType.Tensor2D;
      predicted = tf.keep(tf.argMax(probabilities, -1));
      // tfjs-layers' sparseCategoricalCrossentropy: clip, normalise, clip, log.
      const clipped = tf.clipByValue(probabilities, EPSILON, 1 - EPSILON);
      const normalised = tf.clipByValue(tf.div(clipped, tf.sum(clipped, -1, true)), EPSILON, 1 - EPSILON);
      const perExample = tf.neg(tf.sum(tf.mul(targets, tf.log(normalised)), -1));
      return tf.div(tf.sum(perExample), batchTotal) as tfType.Scalar;
    }, variables);
    let offset = 0;
    for (const variable of variables) {
      const gradient = grads[variable.name]!.dataSync() as Float32Array;
      gradients.set(gradient, offset);
      offset += gradient.length;
    }
    const classes = predicted!.dataSync();
    (predicted as tfType.Tensor | null)?.dispose();
    for (let i = 0; i < count; i++) if (classes[i] === labels[i]) correct++;
    return value.dataSync()[0]! * batchTotal;
  });
  return { lossSum, correct };
}

/** Copy weights (in the given order) into one flat array. */
export function readWeights(weights: readonly LayerWeight[], into: Float32Array, offset = 0): void {
  for (const weight of weights) {
    const values = weight.read().dataSync() as Float32Array;
    into.set(values, offset);
    offset += values.length;
  }
}

/** Assign weights (in the given order) from one flat array. */
export function writeWeights(tf: Tf, weights: readonly LayerWeight[], from: Float32Array, offset = 0): void {
  for (const weight of weights) {
    const size = sizeOf(weight.shape);
    const value = tf.tensor(from.subarray(offset, offset + size), weight.shape, 'float32');
    weight.write(value);
    value.dispose();
    offset += size;
  }
}
