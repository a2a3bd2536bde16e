/**
 * Post-training full-integer quantization of a float32 TFLite model, the scheme TFLite's own
 * converter uses for int8:
 *
 * - input: int8 with scale 1/255 and zero point −128, so a Fashion-MNIST byte p is exactly
 *   q = p − 128 (no calibration needed, no rounding at the input);
 * - weights: symmetric int8 (zero points 0, values in [−127, 127]); CONV_2D filters with one
 *   scale per output channel (quantized dimension 0), FULLY_CONNECTED weights with one scale
 *   for the matrix — TFLite allows per-channel there too, but Arm NN 22 (Debian's) aborts on
 *   a per-channel FULLY_CONNECTED, and a file that a common runtime cannot load is no export;
 * - biases: int32 with scale input_scale × weight_scale of their channel, zero point 0;
 * - activations: asymmetric int8 over the range seen on calibration images (widened to hold 0,
 *   which must be exact so that padding and ReLU are exact);
 * - operators whose output TFLite requires to share the input's parameters (RESHAPE, pooling)
 *   get exactly those; SOFTMAX and LOGISTIC output scale 1/256, zero point −128, and TANH
 *   scale 1/128, zero point 0, the fixed parameters TFLite's int8 kernels assume.
 */
import { AtelierError } from '../../errors';
import { runTfliteReference } from './reference';
import { BuiltinOperator, TensorType, type TfliteModel, type TfliteQuantization, type TfliteTensor } from './schema';

/** The fixed input quantization: q = pixel byte − 128. */
export const INT8_INPUT_QUANTIZATION = { scale: 1 / 255, zeroPoint: -128 } as const;

/** Operator versions TFLite's op_version table gives the int8 kernels Atelier uses. */
const INT8_VERSIONS: Partial<Record<number, number>> = {
  [BuiltinOperator.CONV_2D]: 3,
  [BuiltinOperator.FULLY_CONNECTED]: 4,
  [BuiltinOperator.MAX_POOL_2D]: 2,
  [BuiltinOperator.AVERAGE_POOL_2D]: 2,
  [BuiltinOperator.SOFTMAX]: 2,
  [BuiltinOperator.LOGISTIC]: 2,
  [BuiltinOperator.TANH]: 2,
  [BuiltinOperator.RELU]: 2,
  [BuiltinOperator.RESHAPE]: 1,
};

export interface QuantizeOptions {
  /** Calibration images as real inputs in [0, 1], one after another. */
  calibration: Float32Array;
  /**
   * Which share of the largest calibration values an activation's range keeps: 1 = min/max;
   * 0.9999 clips the top 0.01 % of values to spend the 256 steps on the rest.
   */
  percentile: number;
}

const FIXED_OUTPUTS: Partial<Record<number, { scale: number; zeroPoint: number }>> = {
  [BuiltinOperator.SOFTMAX]: { scale: 1 / 256, zeroPoint: -128 },
  [BuiltinOperator.LOGISTIC]: { scale: 1 / 256, zeroPoint: -128 },
  [BuiltinOperator.TANH]: { scale: 1 / 128, zeroPoint: 0 },
};

const SHARES_INPUT_PARAMETERS = new Set<number>([BuiltinOperator.RESHAPE, BuiltinOperator.MAX_POOL_2D, BuiltinOperator.AVERAGE_POOL_2D]);

const perTensor = (scale: number, zeroPoint: number): TfliteQuantization => ({ scale: [scale], zeroPoint: [zeroPoint], quantizedDimension: 0 });

/** Asymmetric int8 parameters for the real range [low, high] (widened to hold 0). */
export function activationQuantization(low: number, high: number): TfliteQuantization {
  const min = Math.min(0, low);
  const max = Math.max(0, high);
  if (max === min) return perTensor(1, -128);
  const scale = (max - min) / 255;
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - min / scale)));
  return perTensor(scale, zeroPoint);
}

/** At most this many values per tensor are kept to find a percentile (a strided sample beyond that). */
const PERCENTILE_SAMPLE = 1 << 20;

/** Per-tensor value ranges over the calibration images, cut at `percentile` of each tail. */
function calibrate(model: TfliteModel, calibration: Float32Array, percentile: number): Map<number, [number, number]> {
  const inputSize = model.subgraph.tensors[model.subgraph.inputs[0]!]!.shape.reduce((product, side) => product * side, 1);
  const images = calibration.length / inputSize;
  const seen = new Map<number, { low: number; high: number; sample: Float32Array; kept: number; stride: number; position: number }>();
  runTfliteReference(model, calibration, (tensor, values) => {
    let entry = seen.get(tensor);
    if (!entry) {
      const stride = Math.max(1, Math.ceil((values.length * images) / PERCENTILE_SAMPLE));
      entry = { low: Infinity, high: -Infinity, sample: new Float32Array(percentile < 1 ? Math.ceil((values.length * images) / stride) : 0), kept: 0, stride, position: 0 };
      seen.set(tensor, entry);
    }
    for (const value of values) {
      if (value < entry.low) entry.low = value;
      if (value > entry.high) entry.high = value;
      if (percentile < 1 && entry.position++ % entry.stride === 0 && entry.kept < entry.sample.length) entry.sample[entry.kept++] = value;
    }
  });
  const ranges = new Map<number, [number, number]>();
  for (const [tensor, entry] of seen) {
    if (percentile >= 1 || entry.kept === 0) {
      ranges.set(tensor, [entry.low, entry.high]);
      continue;
    }
    const sorted = entry.sample.subarray(0, entry.kept).sort();
    const cut = Math.min(entry.kept - 1, Math.floor((1 - percentile) * entry.kept));
    ranges.set(tensor, [sorted[cut]!, sorted[entry.kept - 1 - cut]!]);
  }
  return ranges;
}

function floatValues(model: TfliteModel, tensor: TfliteTensor): Float32Array {
  const bytes = model.buffers[tensor.buffer]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

function int8Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]!;
  return new Uint8Array(out.buffer);
}

function int32Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]!;
  return new Uint8Array(out.buffer);
}

/** Symmetric int8 weights, one scale per output channel (the first dimension) or one for all. */
function quantizeWeights(values: Float32Array, channels: number, perChannel: boolean): { data: Uint8Array; scales: number[] } {
  const perRow = values.length / channels;
  const groups = perChannel ? channels : 1;
  const groupSize = values.length / groups;
  const scales: number[] = [];
  for (let group = 0; group < groups; group++) {
    let largest = 0;
    for (let i = group * groupSize; i < (group + 1) * groupSize; i++) largest = Math.max(largest, Math.abs(values[i]!));
    // An all-zero channel still needs a positive scale; its weights are 0 whatever it is.
    scales.push(largest > 0 ? largest / 127 : 1);
  }
  const q = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const scale = scales[perChannel ? Math.floor(i / perRow) : 0]!;
    q[i] = Math.max(-127, Math.min(127, Math.round(values[i]! / scale)));
  }
  return { data: int8Bytes(q), scales };
}

/** The int8 model for a float32 one written by `toTflite`. */
export function quantizeTflite(model: TfliteModel, options: QuantizeOptions): TfliteModel {
  const ranges = calibrate(model, options.calibration, options.percentile);
  const graph = model.subgraph;
  const tensors: TfliteTensor[] = graph.tensors.map((tensor) => ({ ...tensor, shape: [...tensor.shape] }));
  const buffers = [...model.buffers];
  const inputIndex = graph.inputs[0]!;
  tensors[inputIndex] = { ...tensors[inputIndex]!, type: TensorType.INT8, quantization: perTensor(INT8_INPUT_QUANTIZATION.scale, INT8_INPUT_QUANTIZATION.zeroPoint) };

  for (const operator of graph.operators) {
    const code = model.operatorCodes[operator.opcodeIndex]!.builtinCode;
    const input = tensors[operator.inputs[0]!]!;
    const outputIndex = operator.outputs[0]!;
    const output = tensors[outputIndex]!;
    const fixed = FIXED_OUTPUTS[code];
    let quantization: TfliteQuantization;
    if (SHARES_INPUT_PARAMETERS.has(code)) quantization = { ...input.quantization! };
    else if (fixed) quantization = perTensor(fixed.scale, fixed.zeroPoint);
    else {
      const range = ranges.get(outputIndex);
      if (!range) throw new AtelierError('export-failed', `Quantizing: the calibration never computed ${output.name}. This is a bug in Atelier; please report it.`);
      quantization = activationQuantization(range[0], range[1]);
    }
    tensors[outputIndex] = { ...output, type: TensorType.INT8, quantization };

    if (code === BuiltinOperator.CONV_2D || code === BuiltinOperator.FULLY_CONNECTED) {
      const filterIndex = operator.inputs[1]!;
      const biasIndex = operator.inputs[2]!;
      const filter = tensors[filterIndex]!;
      const bias = tensors[biasIndex]!;
      const channels = filter.shape[0]!;
      const perChannel = code === BuiltinOperator.CONV_2D;
      const weights = quantizeWeights(floatValues(model, graph.tensors[filterIndex]!), channels, perChannel);
      buffers[filter.buffer] = weights.data;
      tensors[filterIndex] = { ...filter, type: TensorType.INT8, quantization: { scale: weights.scales, zeroPoint: weights.scales.map(() => 0), quantizedDimension: 0 } };
      const inputScale = input.quantization!.scale[0]!;
      const biasScales = weights.scales.map((scale) => inputScale * scale);
      const biasValues = floatValues(model, graph.tensors[biasIndex]!);
      const biasQ = Array.from(biasValues, (value, channel) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(value / biasScales[perChannel ? channel : 0]!))));
      buffers[bias.buffer] = int32Bytes(biasQ);
      tensors[biasIndex] = { ...bias, type: TensorType.INT32, quantization: { scale: biasScales, zeroPoint: biasScales.map(() => 0), quantizedDimension: 0 } };
    }
  }
  return {
    ...model,
    operatorCodes: model.operatorCodes.map((code) => ({ ...code, version: INT8_VERSIONS[code.builtinCode] ?? code.version })),
    subgraph: { ...graph, tensors },
    buffers,
  };
}
