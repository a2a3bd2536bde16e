/**
 * Describing a saved model for export and import: its input and output shapes, its layers with
 * their configs (and, when asked, their weights as plain arrays), and its probabilities for a
 * probe batch. The main thread turns this into ONNX and checks copies against it, without
 * touching TensorFlow.js itself.
 */
import type * as tfType from '@tensorflow/tfjs';
import { AtelierError } from '../errors';
import { PIXELS_PER_IMAGE } from '../fashion-mnist';
import type { ModelDescription } from './protocol';
import { predictProbabilities } from './tensors';

type Tf = typeof tfType;

const shapeOf = (shape: readonly (number | null)[]): (number | null)[] => [...shape];

/** Describe `model`; weights are copied out of the backend only when `includeWeights`. */
export async function describeModel(tf: Tf, model: tfType.LayersModel, includeWeights: boolean, probe: Float32Array | null): Promise<ModelDescription> {
  const layers = model.layers
    .filter((layer) => layer.getClassName() !== 'InputLayer')
    .map((layer) => ({
      className: layer.getClassName(),
      name: layer.name,
      // Through JSON: configs hold only plain values once serialised, which is what crosses threads.
      config: JSON.parse(JSON.stringify(layer.getConfig())) as Record<string, unknown>,
      weights: includeWeights
        ? layer.weights.map((variable) => ({
            name: variable.originalName,
            shape: [...variable.shape] as number[],
            // A copy: the backend may hand out a view of its own memory.
            values: Float32Array.from(variable.read().dataSync() as Float32Array),
          }))
        : [],
    }));
  const inputShapes = model.inputs.map((input) => shapeOf(input.shape));
  const outputShapes = model.outputs.map((output) => shapeOf(output.shape));
  let probabilities: Float32Array | null = null;
  if (probe) {
    const perImage = (inputShapes[0] ?? []).slice(1).reduce<number>((product, side) => product * (side ?? 0), 1);
    const classes = outputShapes[0]?.[1];
    if (inputShapes.length !== 1 || perImage !== PIXELS_PER_IMAGE || outputShapes.length !== 1 || typeof classes !== 'number') {
      throw new AtelierError('model-incompatible', `This model does not take one 28×28 image per example (its inputs are ${JSON.stringify(inputShapes)}), so it cannot be probed.`);
    }
    const count = probe.length / PIXELS_PER_IMAGE;
    probabilities = await predictProbabilities(tf, model, count, (start, end) => probe.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE), { classes });
  }
  return {
    className: model.getClassName(),
    sequential: model instanceof tf.Sequential,
    inputShapes,
    outputShapes,
    layers,
    parameters: model.countParams(),
    probabilities,
  };
}
