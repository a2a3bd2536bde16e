/**
 * BatchNormalization for the layer-by-layer writers (ONNX, TFLite float and int8): at inference a
 * BatchNormalization is an affine map per channel, so it folds into the Conv2D or Dense layer right
 * before it — per output channel c, with f = γ/√(var + ε):
 *
 *   w'[…, c] = w[…, c] · f      b'[c] = (b[c] − mean[c]) · f + β[c]      (b = 0 without a bias)
 *
 * and the writers see one Conv2D/Dense with a bias. A plain ReLU layer right after the folded pair
 * becomes that layer's activation (one fused operator; for int8, a range without the negatives the
 * ReLU throws away). TF.js export keeps the BatchNormalization as it is.
 */
import type { LayerDescription, ModelDescription } from '../engine/protocol';
import { AtelierError } from '../errors';
import { activationLayerProblem } from './sequential';

const FOLDS_INTO = new Set(['Conv2D', 'Dense']);

/** `description` with every BatchNormalization folded into the layer before it; throws for one that cannot be. */
export function foldBatchNormalization(description: ModelDescription, format: string): ModelDescription {
  if (!description.layers.some((layer) => layer.className === 'BatchNormalization')) return description;
  const layers: LayerDescription[] = [];
  let justFolded = false;
  for (const layer of description.layers) {
    if (layer.className === 'BatchNormalization') {
      const previous = layers.at(-1);
      const problem = foldProblem(previous, layer, justFolded);
      if (problem) {
        throw new AtelierError(
          'export-failed',
          `Layer "${layer.name}" (BatchNormalization) cannot be written to ${format}: ${problem}. ${format} gets a BatchNormalization folded into the Conv2D or Dense layer right before it (linear activation, normalising the last axis). Export this model as TF.js instead.`,
        );
      }
      layers[layers.length - 1] = fold(previous!, layer);
      justFolded = true;
      continue;
    }
    const previous = layers.at(-1);
    if (justFolded && previous && layer.className === 'ReLU' && activationLayerProblem(layer, 0) === null) {
      layers[layers.length - 1] = { ...previous, config: { ...previous.config, activation: 'relu' } };
      justFolded = false;
      continue;
    }
    layers.push(layer);
    justFolded = false;
  }
  return { ...description, layers };
}

function foldProblem(previous: LayerDescription | undefined, bn: LayerDescription, justFolded: boolean): string | null {
  if (!previous || !FOLDS_INTO.has(previous.className)) {
    return previous ? `it follows a ${previous.className} layer, not a Conv2D or Dense layer` : 'it is the first layer';
  }
  if (justFolded) return 'it follows another BatchNormalization';
  const activation = (previous.config.activation as string | undefined) ?? 'linear';
  if (activation !== 'linear') return `the ${previous.className} layer before it has a ${activation} activation, applied before the normalisation`;
  if (previous.className === 'Conv2D' && (previous.config.dataFormat ?? 'channelsLast') !== 'channelsLast') return 'the Conv2D layer before it is channels-first';
  const axis = Array.isArray(bn.config.axis) && bn.config.axis.length === 1 ? (bn.config.axis[0] as unknown) : bn.config.axis;
  const lastAxis = previous.className === 'Conv2D' ? 3 : 1;
  if (axis !== -1 && axis !== lastAxis && axis !== undefined) return `it normalises axis ${JSON.stringify(bn.config.axis)}, not the channels (the last axis)`;
  return null;
}

/** The BatchNormalization's weights by role (gamma and beta may be absent: scale/center false). */
function batchNormWeights(bn: LayerDescription, channels: number): { gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array } {
  const byRole = (role: string) => bn.weights.find((w) => w.name === role || w.name.endsWith(`/${role}`))?.values;
  const gamma = bn.config.scale === false ? new Float32Array(channels).fill(1) : byRole('gamma');
  const beta = bn.config.center === false ? new Float32Array(channels) : byRole('beta');
  const mean = byRole('moving_mean');
  const variance = byRole('moving_variance');
  if (!gamma || !beta || !mean || !variance || [gamma, beta, mean, variance].some((v) => v.length !== channels)) {
    throw new AtelierError('export-failed', `Layer "${bn.name}" (BatchNormalization) does not hold ${channels} values of gamma, beta, moving mean and moving variance; it cannot be folded.`);
  }
  return { gamma, beta, mean, variance };
}

function fold(layer: LayerDescription, bn: LayerDescription): LayerDescription {
  const useBias = layer.config.useBias !== false;
  const [kernel, bias] = layer.weights;
  if (!kernel || layer.weights.length !== (useBias ? 2 : 1)) {
    throw new AtelierError('export-failed', `Layer "${layer.name}" (${layer.className}) has ${layer.weights.length} weight tensors; the BatchNormalization after it cannot be folded.`);
  }
  const channels = kernel.shape.at(-1)!;
  const { gamma, beta, mean, variance } = batchNormWeights(bn, channels);
  const epsilon = typeof bn.config.epsilon === 'number' ? bn.config.epsilon : 1e-3;
  const factor = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c]! + epsilon));
  const folded = new Float32Array(kernel.values.length);
  for (let i = 0; i < folded.length; i++) folded[i] = kernel.values[i]! * factor[i % channels]!;
  const foldedBias = Float32Array.from(factor, (f, c) => ((bias ? bias.values[c]! : 0) - mean[c]!) * f + beta[c]!);
  return {
    ...layer,
    config: { ...layer.config, useBias: true, activation: 'linear' },
    weights: [
      { ...kernel, values: folded },
      { name: bias?.name ?? `${layer.name}/bias`, shape: [channels], values: foldedBias },
    ],
  };
}
