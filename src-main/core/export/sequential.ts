/**
 * What every layer-by-layer writer (ONNX, TFLite) needs of a model before it starts: one chain of
 * layers, one input, one output, and an input of fixed size.
 */
import type { LayerDescription, ModelDescription } from '../engine/protocol';
import { AtelierError } from '../errors';

/** The input's sizes without the batch dimension, or an error naming `format` that says what to export instead. */
export function sequentialInputDims(description: ModelDescription, format: string): number[] {
  if (!description.sequential) throw new AtelierError('export-failed', `This model is a ${description.className} (a graph of layers, not one chain); Atelier writes ${format} for sequential models only. Export it as TF.js instead.`);
  if (description.inputShapes.length !== 1 || description.outputShapes.length !== 1) throw new AtelierError('export-failed', `Atelier writes ${format} for models with exactly one input and one output.`);
  const inputDims = description.inputShapes[0]!.slice(1);
  if (inputDims.some((side) => typeof side !== 'number')) throw new AtelierError('export-failed', `The model's input shape [${inputDims.join(', ')}] has unknown sizes; ${format} export needs fixed ones.`);
  return inputDims as number[];
}

/**
 * Why a ReLU or Softmax layer cannot be written as the plain activation every writer emits (a ReLU
 * with a cap, slope or threshold; a softmax over another axis than the last), or null when it can.
 * `rank` is the rank of its input without the batch dimension.
 */
export function activationLayerProblem(layer: LayerDescription, rank: number): string | null {
  if (layer.className === 'ReLU') {
    const { maxValue, negativeSlope, threshold } = layer.config;
    return maxValue != null || (negativeSlope ?? 0) !== 0 || (threshold ?? 0) !== 0 ? 'only a plain ReLU (no max value, slope or threshold) is supported' : null;
  }
  const axis = layer.config.axis ?? -1;
  return axis !== -1 && axis !== rank ? `its softmax axis is ${String(axis)}` : null;
}
