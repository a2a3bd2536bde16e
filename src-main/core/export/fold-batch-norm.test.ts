/**
 * BatchNormalization folded into the layer before it, for ONNX and TFLite: a seeded model of the
 * `best` preset's layout (Conv2D linear without bias → BatchNormalization → ReLU → max-pool, twice;
 * Flatten → Dropout → Dense relu → Dropout → Dense softmax) with moving statistics, gamma and beta
 * far from their initial values, written to each format and run by onnxruntime, the reference
 * evaluators, onnx.checker and Arm NN where installed: the same probabilities as TF.js.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeModel } from '../engine/inspect';
import { mulberry32 } from '../random';
import { armnnAvailable, onnxCheckerMissing, runArmnn, runOnnxChecker } from './external-checks';
import { foldBatchNormalization } from './fold-batch-norm';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, toOnnx } from './onnx/convert';
import { decodeOnnx, encodeOnnx } from './onnx/model';
import { runOnnxReference } from './onnx/reference';
import { largestDifference, probeImages } from './probe';
import { toTflite } from './tflite/convert';
import { quantizeTflite } from './tflite/quantize';
import { runTfliteReference } from './tflite/reference';
import { BuiltinOperator, decodeTflite, encodeTflite } from './tflite/schema';

const scratch = mkdtempSync(join(tmpdir(), 'atelier-fold-bn-test-'));
const onnxOptions = { producerVersion: 'test', description: 'test', inputDescription: 'images', outputDescription: 'probabilities', metadata: {} };

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sequential = (layers: tf.layers.Layer[]): tf.Sequential => {
  const model = tf.sequential();
  for (const layer of layers) model.add(layer);
  return model;
};

/** The `best` preset's layout, small. */
const bestLayout = () =>
  sequential([
    tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 3, activation: 'linear', useBias: false }),
    tf.layers.batchNormalization({ axis: -1 }),
    tf.layers.reLU(),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'linear', useBias: false }),
    tf.layers.batchNormalization({ axis: -1 }),
    tf.layers.reLU(),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dropout({ rate: 0.3 }),
    tf.layers.dense({ units: 16, activation: 'relu' }),
    tf.layers.dropout({ rate: 0.3 }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ]);

/**
 * Seeded weights everywhere; BatchNormalization's gamma, beta, moving mean and moving variance set
 * by hand to values far from 1, 0, 0, 1 (a mean near the layer's real activations, so ReLU cuts).
 */
function seed(model: tf.LayersModel, seedValue: number): void {
  const next = mulberry32(seedValue);
  for (const layer of model.layers) {
    const values = layer.weights.map((weight) => {
      const name = weight.originalName;
      const shape = weight.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      const draw = (f: () => number) => tf.tensor(Float32Array.from({ length: n }, () => f()), shape);
      if (layer.getClassName() !== 'BatchNormalization') return draw(() => (next() * 2 - 1) * 0.5);
      if (/gamma/.test(name)) return draw(() => 0.5 + next() * 1.5);
      if (/beta/.test(name)) return draw(() => next() - 0.5);
      if (/moving_mean/.test(name)) return draw(() => (next() - 0.5) * 0.4);
      return draw(() => 0.05 + next() * 0.5); // moving variance
    });
    if (values.length > 0) layer.setWeights(values);
    tf.dispose(values);
  }
}

async function describedBest(seedValue: number, count = 8) {
  const model = bestLayout();
  seed(model, seedValue);
  const bytes = Uint8Array.from(probeImages(count, seedValue), (value) => Math.round(value * 255));
  const real = Float32Array.from(bytes, (value) => value / 255);
  const description = await describeModel(tf, model, true, real);
  model.dispose();
  return { description, bytes, real, tfjs: description.probabilities! };
}

describe('BatchNormalization folded for ONNX and TFLite', () => {
  it('describes the layers by name, and folds each BatchNormalization and ReLU into the Conv2D before it', async () => {
    const { description } = await describedBest(1, 1);
    expect(description.layers.map((layer) => layer.className)).toEqual([
      'Conv2D', 'BatchNormalization', 'ReLU', 'MaxPooling2D', 'Conv2D', 'BatchNormalization', 'ReLU', 'MaxPooling2D', 'Flatten', 'Dropout', 'Dense', 'Dropout', 'Dense',
    ]);
    const folded = foldBatchNormalization(description, 'ONNX');
    expect(folded.layers.map((layer) => layer.className)).toEqual(['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dropout', 'Dense', 'Dropout', 'Dense']);
    expect(folded.layers[0]!.config).toMatchObject({ useBias: true, activation: 'relu' });
    expect(folded.layers[0]!.weights.map((w) => w.shape)).toEqual([[3, 3, 1, 6], [6]]);
    // The description itself is left as it was (TF.js export and the model card read it).
    expect(description.layers).toHaveLength(13);
    expect(description.layers[0]!.weights).toHaveLength(1);
  });

  it('ONNX: onnxruntime and the reference evaluator give the TF.js probabilities; onnx.checker accepts the file', async () => {
    const { description, real, tfjs } = await describedBest(2);
    const bytes = encodeOnnx(toOnnx(description, onnxOptions));
    const session = await ort.InferenceSession.create(bytes);
    const result = await session.run({ [ONNX_INPUT_NAME]: new ort.Tensor('float32', real, [8, 28, 28, 1]) });
    const runtime = result[ONNX_OUTPUT_NAME]!.data as Float32Array;
    expect(largestDifference(tfjs, runtime)).toBeLessThan(1e-5);
    expect(largestDifference(tfjs, runOnnxReference(decodeOnnx(bytes), real).data)).toBeLessThan(1e-5);
    expect(decodeOnnx(bytes).graph.node.map((node) => node.op_type)).not.toContain('BatchNormalization');
    if (onnxCheckerMissing() === null) {
      const file = join(scratch, 'best.onnx');
      writeFileSync(file, bytes);
      expect(runOnnxChecker(file)).toMatchObject({ valid: true });
    }
  });

  it('TFLite float32: the reference evaluator (and Arm NN where installed) give the TF.js probabilities', async () => {
    const { description, bytes: images, real, tfjs } = await describedBest(3);
    const bytes = encodeTflite(toTflite(description, 'test'));
    const decoded = decodeTflite(bytes);
    const codes = decoded.subgraph.operators.map((operator) => decoded.operatorCodes[operator.opcodeIndex]!.builtinCode);
    expect(codes.filter((code) => code === BuiltinOperator.CONV_2D)).toHaveLength(2);
    expect(codes).not.toContain(BuiltinOperator.RELU);
    expect(largestDifference(tfjs, Float32Array.from(runTfliteReference(decoded, real).output))).toBeLessThan(1e-5);
    if (armnnAvailable()) {
      const file = join(scratch, 'best.tflite');
      writeFileSync(file, bytes);
      const { probabilities } = await runArmnn(file, images, join(scratch, 'best-armnn'));
      expect(largestDifference(tfjs, probabilities)).toBeLessThan(1e-5);
    }
  });

  it('TFLite int8: quantized from the folded model, close to TF.js', async () => {
    const { description, bytes: images, tfjs } = await describedBest(4, 24);
    const float = decodeTflite(encodeTflite(toTflite(description, 'test')));
    const calibration = Float32Array.from(probeImages(64, 99), (value) => Math.round(value * 255) / 255);
    const int8 = decodeTflite(encodeTflite(quantizeTflite(float, { calibration, percentile: 1 })));
    const run = runTfliteReference(int8, Int8Array.from(images, (value) => value - 128));
    const probabilities = Float32Array.from(run.output, (value) => (value + 128) / 256);
    expect(largestDifference(tfjs, probabilities)).toBeLessThan(0.2);
  });

  it('folds a BatchNormalization after a linear Dense with a bias (ONNX and TFLite agree with TF.js)', async () => {
    const model = sequential([
      tf.layers.flatten({ inputShape: [28, 28] }),
      tf.layers.dense({ units: 12 }),
      tf.layers.batchNormalization({ epsilon: 0.01 }),
      tf.layers.activation({ activation: 'tanh' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ]);
    seed(model, 5);
    const real = probeImages(5, 5);
    const description = await describeModel(tf, model, true, real);
    const tfjs = description.probabilities!;
    const onnx = decodeOnnx(encodeOnnx(toOnnx(description, onnxOptions)));
    expect(largestDifference(tfjs, runOnnxReference(onnx, real).data)).toBeLessThan(1e-5);
    const tflite = decodeTflite(encodeTflite(toTflite(description, 'test')));
    expect(largestDifference(tfjs, Float32Array.from(runTfliteReference(tflite, real).output))).toBeLessThan(1e-5);
    model.dispose();
  });

  it.each([
    ['after a Flatten', () => [tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.batchNormalization(), tf.layers.dense({ units: 10, activation: 'softmax' })], /follows a Flatten layer/],
    [
      'after a Conv2D with a relu activation',
      () => [tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3, activation: 'relu' }), tf.layers.batchNormalization(), tf.layers.flatten(), tf.layers.dense({ units: 10, activation: 'softmax' })],
      /has a relu activation/,
    ],
    [
      'over another axis than the channels',
      () => [tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3 }), tf.layers.batchNormalization({ axis: 1 }), tf.layers.flatten(), tf.layers.dense({ units: 10, activation: 'softmax' })],
      /normalises axis 1/,
    ],
  ] as const)('refuses a BatchNormalization %s, saying why and pointing to TF.js', async (_what, layers, why) => {
    const model = sequential(layers());
    const description = await describeModel(tf, model, true, null);
    expect(() => toOnnx(description, onnxOptions)).toThrow(/BatchNormalization\) cannot be written to ONNX.*Export this model as TF.js instead/);
    expect(() => toOnnx(description, onnxOptions)).toThrow(why);
    expect(() => toTflite(description, 'test')).toThrow(/BatchNormalization\) cannot be written to TFLite.*Export this model as TF.js instead/);
    model.dispose();
  });
});
