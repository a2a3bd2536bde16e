/**
 * The TFLite writer against ground truth: small TF.js models with random weights (pure-JS
 * backend), described exactly as the engine does, written to .tflite bytes, read back and run in
 * Atelier's reference evaluator and — where Debian's python3-pyarmnn is installed — in Arm NN.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeModel } from '../../engine/inspect';
import { largestDifference, probeImages } from '../probe';
import { TFLITE_OUTPUT_NAME, toTflite } from './convert';
import { activationQuantization, INT8_INPUT_QUANTIZATION, quantizeTflite } from './quantize';
import { doublingHighMul, multiplyByQuantizedMultiplier, quantizeMultiplier, runTfliteReference } from './reference';
import { BuiltinOperator, decodeTflite, encodeTflite, TensorType } from './schema';
import { armnnAvailable, runArmnn } from '../external-checks';

const scratch = mkdtempSync(join(tmpdir(), 'atelier-tflite-test-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function randomise(model: tf.LayersModel, seed: number): void {
  model.setWeights(model.getWeights().map((weight, index) => tf.randomNormal(weight.shape, 0, 0.3, 'float32', seed + index)));
}

const sequential = (layers: tf.layers.Layer[]): tf.Sequential => {
  const model = tf.sequential();
  for (const layer of layers) model.add(layer);
  return model;
};

/** Probe images as bytes (what Arm NN is fed) and as the real values they stand for. */
function byteProbe(count: number, seed: number): { bytes: Uint8Array; real: Float32Array } {
  const bytes = Uint8Array.from(probeImages(count, seed), (value) => Math.round(value * 255));
  return { bytes, real: Float32Array.from(bytes, (value) => value / 255) };
}

async function written(model: tf.LayersModel, seed: number, count = 6) {
  randomise(model, seed);
  const probe = byteProbe(count, seed);
  const description = await describeModel(tf, model, true, probe.real);
  const bytes = encodeTflite(toTflite(description, 'test model'));
  return { description, bytes, probe, tfjs: description.probabilities! };
}

const mlp = () => sequential([tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.dense({ units: 16, activation: 'relu' }), tf.layers.dense({ units: 10, activation: 'softmax' })]);
const cnn = () =>
  sequential([
    tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dropout({ rate: 0.25 }),
    tf.layers.dense({ units: 12, activation: 'relu' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ]);

describe('TFLite float32 writer', () => {
  it('writes the tutorial MLP (RESHAPE, FULLY_CONNECTED with fused ReLU, SOFTMAX) so the reference agrees with TF.js', async () => {
    const model = mlp();
    const { bytes, probe, tfjs } = await written(model, 1);
    const decoded = decodeTflite(bytes);
    expect(decoded.version).toBe(3);
    expect(decoded.operatorCodes.map((code) => code.builtinCode)).toEqual([BuiltinOperator.RESHAPE, BuiltinOperator.FULLY_CONNECTED, BuiltinOperator.SOFTMAX]);
    const graph = decoded.subgraph;
    expect(graph.tensors[graph.inputs[0]!]).toMatchObject({ name: 'input', shape: [1, 28, 28], type: TensorType.FLOAT32 });
    expect(graph.tensors[graph.outputs[0]!]).toMatchObject({ name: TFLITE_OUTPUT_NAME, shape: [1, 10], type: TensorType.FLOAT32 });
    expect(graph.operators[1]!.options).toEqual({ kind: 'FullyConnectedOptions', activation: 1 });
    // Weight buffers start on 16-byte boundaries (the schema's force_align), so runtimes can map them.
    const kernel = graph.tensors.find((tensor) => tensor.name.endsWith('/kernel'))!;
    const stored = decoded.buffers[kernel.buffer]!;
    expect(bytes.indexOf(stored[0]!, 0)).toBeGreaterThanOrEqual(0);
    const reference = Float32Array.from(runTfliteReference(decoded, probe.real).output);
    expect(largestDifference(tfjs, reference)).toBeLessThan(1e-5);
    model.dispose();
  });

  it("writes the CNN preset's layers with kernels in TFLite's [out, h, w, in] order and NHWC flatten", async () => {
    const model = cnn();
    const { bytes, probe, tfjs } = await written(model, 7);
    const decoded = decodeTflite(bytes);
    const codes = decoded.subgraph.operators.map((operator) => decoded.operatorCodes[operator.opcodeIndex]!.builtinCode);
    expect(codes).toEqual([BuiltinOperator.CONV_2D, BuiltinOperator.MAX_POOL_2D, BuiltinOperator.CONV_2D, BuiltinOperator.MAX_POOL_2D, BuiltinOperator.RESHAPE, BuiltinOperator.FULLY_CONNECTED, BuiltinOperator.FULLY_CONNECTED, BuiltinOperator.SOFTMAX]);
    expect(decoded.subgraph.tensors.find((tensor) => tensor.name.endsWith('conv2d_Conv2D1/kernel') || tensor.shape.join() === '4,3,3,1')?.shape).toEqual([4, 3, 3, 1]);
    const reference = Float32Array.from(runTfliteReference(decoded, probe.real).output);
    expect(largestDifference(tfjs, reference)).toBeLessThan(1e-5);
    model.dispose();
  });

  it("handles 'same' padding, strides, dilation, average pooling and standalone activations the way TensorFlow does", async () => {
    const model = sequential([
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 3, kernelSize: 5, strides: 2, padding: 'same', activation: 'tanh' }),
      tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'sigmoid' }),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      tf.layers.conv2d({ filters: 4, kernelSize: [2, 3], useBias: false }),
      tf.layers.reLU(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
      tf.layers.softmax(),
    ]);
    const { bytes, probe, tfjs } = await written(model, 11);
    const reference = Float32Array.from(runTfliteReference(decodeTflite(bytes), probe.real).output);
    expect(largestDifference(tfjs, reference)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('refuses a layer it cannot write, naming it and pointing to the other formats', async () => {
    // (A BatchNormalization is folded into the layer before it where it can be: fold-batch-norm.test.ts.)
    const model = sequential([
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3 }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ]);
    const description = await describeModel(tf, model, true, null);
    expect(() => toTflite(description, 'x')).toThrow(/GlobalAveragePooling2D\) cannot be written to TFLite.*Export this model as TF.js or ONNX instead/);
    model.dispose();
  });

  it('refuses a file that is not TFLite', () => {
    expect(() => decodeTflite(new TextEncoder().encode('not a flatbuffer at all'))).toThrow(/file identifier is not TFL3/);
  });
});

describe('int8 arithmetic', () => {
  it("QuantizeMultiplier and MultiplyByQuantizedMultiplier match TFLite's fixed-point results", () => {
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(1)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(0.75)).toEqual({ multiplier: 0.75 * 2 ** 31, shift: 0 });
    // The rescaled value is round(x × real) for multipliers TFLite meets (< 1), ties away from zero.
    for (const real of [0.0003, 0.0123, 0.4999, 0.9]) {
      const { multiplier, shift } = quantizeMultiplier(real);
      // Two roundings (the high multiply, then the shift) can land one step from round(x × real).
      for (const x of [-1_000_003, -12_345, -7, 0, 9, 4_567, 2_000_017]) expect(Math.abs(multiplyByQuantizedMultiplier(x, multiplier, shift) - x * real)).toBeLessThan(1);
    }
    // gemmlowp's nudge: a tie rounds up for a positive product and toward zero for a negative one.
    expect(multiplyByQuantizedMultiplier(5, 2 ** 30, 0)).toBe(3);
    expect(multiplyByQuantizedMultiplier(-5, 2 ** 30, 0)).toBe(-2);
    expect(multiplyByQuantizedMultiplier(-7, 2 ** 30, -1)).toBe(-2);
  });

  it('the 64-bit high multiply, done in doubles, equals the exact BigInt computation', () => {
    const exact = (a: number, b: number): number => {
      const product = BigInt(a) * BigInt(b);
      const nudge = product >= 0n ? 1n << 30n : 1n - (1n << 30n);
      return Number((product + nudge) / (1n << 31n));
    };
    let state = 7;
    const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const edges = [0, 1, -1, 2 ** 30, -(2 ** 30), 2 ** 31 - 1, -(2 ** 31), 12_345, -12_345];
    const cases: [number, number][] = edges.flatMap((a) => edges.filter((b) => b >= 0).map((b): [number, number] => [a, b]));
    for (let i = 0; i < 20_000; i++) cases.push([Math.floor((next() - 0.5) * 2 ** (1 + Math.floor(next() * 32))), Math.floor(next() * 2 ** 31)]);
    for (const [a, b] of cases) if (!(a === -(2 ** 31) && b === -(2 ** 31))) expect(doublingHighMul(a, b), `${a} × ${b}`).toBe(exact(a, b));
  });

  it('activation parameters hold 0 exactly and span the calibrated range', () => {
    const relu = activationQuantization(0, 6.375);
    expect(relu.zeroPoint).toEqual([-128]);
    expect(relu.scale[0]).toBeCloseTo(6.375 / 255, 12);
    const both = activationQuantization(-2, 3);
    const zero = both.zeroPoint[0]!;
    expect(-128 + both.scale[0]! * 0).toBe(-128);
    expect(Math.abs((zero + 128) * both.scale[0]! - 2)).toBeLessThan(both.scale[0]!);
  });
});

describe('TFLite int8 quantizer', () => {
  it('quantizes the CNN: int8 input/output, per-channel weights, int32 biases, the fixed softmax output, and stays close to float', async () => {
    const model = cnn();
    const { bytes, probe, tfjs } = await written(model, 3, 24);
    // Read from a Node Buffer, as from a file: its slice() is a view of the whole file, which once
    // gave the quantizer every weight of the file instead of one tensor's.
    const float = decodeTflite(Buffer.from(bytes));
    const int8 = decodeTflite(encodeTflite(quantizeTflite(float, { calibration: byteProbe(64, 99).real, percentile: 1 })));
    const graph = int8.subgraph;
    const input = graph.tensors[graph.inputs[0]!]!;
    const output = graph.tensors[graph.outputs[0]!]!;
    expect(input).toMatchObject({ type: TensorType.INT8, quantization: { scale: [Math.fround(INT8_INPUT_QUANTIZATION.scale)], zeroPoint: [-128] } });
    expect(output).toMatchObject({ type: TensorType.INT8, quantization: { scale: [1 / 256], zeroPoint: [-128] } });
    const conv = graph.operators[0]!;
    expect(graph.tensors[conv.inputs[1]!]!).toMatchObject({ type: TensorType.INT8, shape: [4, 3, 3, 1], quantization: { quantizedDimension: 0, zeroPoint: [0, 0, 0, 0] } });
    expect(graph.tensors[conv.inputs[2]!]!.type).toBe(TensorType.INT32);
    const dense = graph.operators.find((operator) => int8.operatorCodes[operator.opcodeIndex]!.builtinCode === BuiltinOperator.FULLY_CONNECTED)!;
    expect(graph.tensors[dense.inputs[1]!]!.quantization).toMatchObject({ zeroPoint: [0] });
    expect(bytes.length / encodeTflite(int8).length).toBeGreaterThan(1.5);

    const q = Int8Array.from(probe.bytes, (value) => value - 128);
    const run = runTfliteReference(int8, q);
    const probabilities = Float32Array.from(run.output, (value) => (value + 128) / 256);
    expect(largestDifference(tfjs, probabilities)).toBeLessThan(0.2);
    model.dispose();
  });
});

describe.skipIf(!armnnAvailable())('Arm NN runs the files Atelier writes (python3-pyarmnn, CpuRef)', () => {
  it.each([
    ['MLP', mlp],
    ['CNN', cnn],
  ])('float32 %s: Arm NN agrees with TF.js within 1e-5', async (_name, build) => {
    const model = build();
    const { bytes, probe, tfjs } = await written(model, 5, 8);
    const file = join(scratch, `float-${_name}.tflite`);
    writeFileSync(file, bytes);
    const result = await runArmnn(file, probe.bytes, file);
    expect(result.summary).toMatchObject({ input: 'float32', images: 8, classes: 10 });
    expect(largestDifference(tfjs, result.probabilities)).toBeLessThan(1e-5);
    model.dispose();
  });

  it.each([
    ['MLP', mlp],
    ['CNN', cnn],
  ])("int8 %s: Arm NN agrees with Atelier's integer reference within one output step", async (_name, build) => {
    const model = build();
    const { bytes, probe } = await written(model, 9, 8);
    const int8 = quantizeTflite(decodeTflite(bytes), { calibration: byteProbe(32, 4).real, percentile: 1 });
    const file = join(scratch, `int8-${_name}.tflite`);
    const encoded = encodeTflite(int8);
    writeFileSync(file, encoded);
    const result = await runArmnn(file, probe.bytes, file);
    expect(result.summary).toMatchObject({ input: 'int8', images: 8, classes: 10 });
    const reference = Float32Array.from(runTfliteReference(decodeTflite(encoded), Int8Array.from(probe.bytes, (value) => value - 128)).output, (value) => (value + 128) / 256);
    expect(largestDifference(reference, result.probabilities)).toBeLessThanOrEqual(2 / 256 + 1e-6);
    model.dispose();
  });
});

