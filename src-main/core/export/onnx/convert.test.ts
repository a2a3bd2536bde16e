/**
 * The ONNX writer against ground truth: small TF.js models with random weights, built here with
 * the pure-JS backend, are described exactly as the engine does, written to ONNX bytes, and run
 * in onnxruntime-node and in Atelier's reference evaluator. All three must agree.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeModel } from '../../engine/inspect';
import { probeImages, largestDifference } from '../probe';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, toOnnx } from './convert';
import { decodeOnnx, encodeOnnx } from './model';
import { runOnnxReference } from './reference';
import { ONNX_IR_VERSION, ONNX_OPSET } from './schema';

const options = {
  producerVersion: 'test',
  description: 'test model',
  inputDescription: 'images',
  outputDescription: 'probabilities',
  metadata: { classes: '["a"]' },
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Weights drawn at random, so that a transposed kernel or a wrong flatten order shows. */
function randomise(model: tf.LayersModel, seed: number): void {
  model.setWeights(model.getWeights().map((weight, index) => tf.randomNormal(weight.shape, 0, 0.3, 'float32', seed + index)));
}

async function roundTrip(model: tf.LayersModel, seed = 1) {
  randomise(model, seed);
  const probe = probeImages(6, seed);
  const description = await describeModel(tf, model, true, probe);
  const bytes = encodeOnnx(toOnnx(description, options));
  const session = await ort.InferenceSession.create(bytes);
  const inputShape = description.inputShapes[0]!.slice(1) as number[];
  const result = await session.run({ [ONNX_INPUT_NAME]: new ort.Tensor('float32', probe, [6, ...inputShape]) });
  const runtime = result[ONNX_OUTPUT_NAME]!.data as Float32Array;
  const reference = runOnnxReference(decodeOnnx(bytes), probe).data;
  return { tfjs: description.probabilities!, runtime, reference, bytes };
}

const sequential = (layers: tf.layers.Layer[]): tf.Sequential => {
  const model = tf.sequential();
  for (const layer of layers) model.add(layer);
  return model;
};

describe('toOnnx', () => {
  it('writes the tutorial MLP (28×28 input, Flatten, Dense relu, Dense softmax) so onnxruntime agrees with TF.js', async () => {
    const model = sequential([
      tf.layers.flatten({ inputShape: [28, 28] }),
      tf.layers.dense({ units: 16, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ]);
    const { tfjs, runtime, reference, bytes } = await roundTrip(model);
    expect(largestDifference(tfjs, runtime)).toBeLessThan(1e-5);
    expect(largestDifference(tfjs, reference)).toBeLessThan(1e-5);
    const decoded = decodeOnnx(bytes);
    expect(decoded.ir_version).toBe(ONNX_IR_VERSION);
    expect(decoded.opset_import).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(decoded.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 28 }, { dim_value: 28 }]);
    expect(decoded.graph.output[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 10 }]);
    expect(decoded.metadata_props).toEqual([{ key: 'classes', value: '["a"]' }]);
    model.dispose();
  });

  it("writes the CNN preset's layers (valid Conv2D, MaxPool, Flatten after channels, Dropout) in the right order", async () => {
    const model = sequential([
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dropout({ rate: 0.25 }),
      tf.layers.dense({ units: 12, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ]);
    const { tfjs, runtime, reference, bytes } = await roundTrip(model, 7);
    expect(largestDifference(tfjs, runtime)).toBeLessThan(1e-5);
    expect(largestDifference(tfjs, reference)).toBeLessThan(1e-5);
    const ops = decodeOnnx(bytes).graph.node.map((node) => node.op_type);
    expect(ops).toEqual(['Transpose', 'Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'MaxPool', 'Transpose', 'Flatten', 'Gemm', 'Relu', 'Gemm', 'Softmax']);
    model.dispose();
  });

  it("handles 'same' padding, strides, dilation, average and global pooling the way TensorFlow pads", async () => {
    const model = sequential([
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 3, kernelSize: 5, strides: 2, padding: 'same', activation: 'tanh' }),
      tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'elu' }),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      tf.layers.conv2d({ filters: 4, kernelSize: [2, 3], useBias: false }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ]);
    const { tfjs, runtime, reference } = await roundTrip(model, 11);
    expect(largestDifference(tfjs, runtime)).toBeLessThan(1e-5);
    expect(largestDifference(tfjs, reference)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('writes activation layers, a plain ReLU layer, a Softmax layer and global max pooling', async () => {
    const model = sequential([
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: 'sigmoid' }),
      tf.layers.reLU(),
      tf.layers.globalMaxPooling2d({}),
      tf.layers.dense({ units: 8, activation: 'selu' }),
      tf.layers.activation({ activation: 'softplus' }),
      tf.layers.dense({ units: 10 }),
      tf.layers.softmax(),
    ]);
    const { tfjs, runtime, reference } = await roundTrip(model, 5);
    expect(largestDifference(tfjs, runtime)).toBeLessThan(1e-5);
    expect(largestDifference(tfjs, reference)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('refuses a layer it cannot write, naming it and pointing to TF.js', async () => {
    const model = sequential([tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.batchNormalization(), tf.layers.dense({ units: 10, activation: 'softmax' })]);
    const description = await describeModel(tf, model, true, null);
    expect(() => toOnnx(description, options)).toThrow(/BatchNormalization\) cannot be written to ONNX.*Export this model as TF.js instead/);
    model.dispose();
  });

  it('refuses a graph of layers (not one chain)', async () => {
    const input = tf.input({ shape: [28, 28] });
    const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    const a = tf.layers.dense({ units: 10 }).apply(flat) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 10 }).apply(flat) as tf.SymbolicTensor;
    const output = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    const description = await describeModel(tf, model, true, null);
    expect(description.sequential).toBe(false);
    expect(() => toOnnx(description, options)).toThrow(/sequential models only/);
    model.dispose();
  });
});
