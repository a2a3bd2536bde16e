/**
 * A small reference evaluator for the TFLite files Atelier writes, read back from their bytes:
 * float32 models in float64 arithmetic, int8 models with TFLite's integer arithmetic (int32
 * accumulators, fixed-point rescaling with TFLite's rounding). It implements only the operators
 * `convert.ts` and `quantize.ts` emit. Softmax, logistic and tanh on int8 are computed in float
 * from the dequantized input and quantized back, as Arm NN's reference backend does; TFLite's
 * fixed-point kernels may differ from that by one step of the output (1/256).
 */
import { AtelierError } from '../../errors';
import { Activation, BuiltinOperator, Padding, TensorType, type TfliteModel, type TfliteOperator, type TfliteTensor } from './schema';

/** A tensor's values: real numbers for float tensors, the stored integers for int8/int32 ones. */
type Values = Float64Array;

const sizeOf = (dims: readonly number[]): number => dims.reduce((product, side) => product * side, 1);

function fail(index: number, why: string): AtelierError {
  return new AtelierError('export-failed', `Checking the TFLite file: operator ${index} ${why}.`);
}

/** TFLite's QuantizeMultiplier: a real multiplier as a Q31 integer and a power-of-two shift. */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (real === 0) return { multiplier: 0, shift: 0 };
  let shift = Math.floor(Math.log2(real)) + 1;
  let fraction = real / 2 ** shift;
  // log2 can be off by one at exact powers of two; frexp's fraction lies in [0.5, 1).
  if (fraction >= 1) (fraction /= 2), shift++;
  if (fraction < 0.5) (fraction *= 2), shift--;
  let multiplier = Math.round(fraction * 2 ** 31);
  if (multiplier === 2 ** 31) (multiplier /= 2), shift++;
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier, shift };
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * gemmlowp's SaturatingRoundingDoublingHighMul: (a × b + nudge) / 2^31 truncated toward zero,
 * with nudge = 2^30 for a non-negative product and 1 − 2^30 otherwise. The 62-bit product does
 * not fit a double, so it is split: b = high × 2^16 + low keeps every partial product exact.
 */
export function doublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const high = Math.floor(b / 65536);
  const low = b - high * 65536;
  const top = a * high; // |top| < 2^47: exact
  const nudge = (a < 0) !== (b < 0) && a !== 0 && b !== 0 ? 1 - 2 ** 30 : 2 ** 30;
  // a × b + nudge = top × 2^16 + (a × low + nudge) = q × 2^31 + r with 0 ≤ r < 2^31 (floor division).
  const topQuotient = Math.floor(top / 32768);
  const rest = (top - topQuotient * 32768) * 65536 + a * low + nudge; // |rest| < 2^49: exact
  const restQuotient = Math.floor(rest / 2 ** 31);
  const quotient = topQuotient + restQuotient;
  const remainder = rest - restQuotient * 2 ** 31;
  // Floor → truncation toward zero for a negative total with a remainder.
  return quotient < 0 && remainder !== 0 ? quotient + 1 : quotient;
}

/** gemmlowp's RoundingDivideByPOT: x / 2^exponent, rounding half away from zero. */
function roundingDivideByPot(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = 2 ** exponent - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** TFLite's MultiplyByQuantizedMultiplier: the int32 accumulator rescaled to the output's scale. */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return roundingDivideByPot(doublingHighMul(x * 2 ** left, multiplier), right);
}

function tensorData(model: TfliteModel, tensor: TfliteTensor): Values | null {
  if (tensor.buffer === 0) return null;
  const bytes = model.buffers[tensor.buffer];
  if (!bytes || bytes.length === 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = sizeOf(tensor.shape);
  const out = new Float64Array(count);
  const width = tensor.type === TensorType.INT8 ? 1 : 4;
  if (bytes.length !== count * width) throw new AtelierError('export-failed', `Checking the TFLite file: tensor ${tensor.name} has ${bytes.length} bytes for shape [${tensor.shape.join(', ')}].`);
  for (let i = 0; i < count; i++) {
    if (tensor.type === TensorType.FLOAT32) out[i] = view.getFloat32(i * 4, true);
    else if (tensor.type === TensorType.INT32) out[i] = view.getInt32(i * 4, true);
    else if (tensor.type === TensorType.INT8) out[i] = view.getInt8(i);
    else throw new AtelierError('export-failed', `Checking the TFLite file: tensor ${tensor.name} has type ${tensor.type}, which Atelier does not write.`);
  }
  return out;
}

interface QuantizedRange {
  zeroPoint: number;
  scale: number;
  /** The activation's clamp in the stored integers. */
  min: number;
  max: number;
}

function outputRange(tensor: TfliteTensor, activation: number): QuantizedRange {
  const q = tensor.quantization!;
  const zeroPoint = q.zeroPoint[0] ?? 0;
  return { zeroPoint, scale: q.scale[0]!, min: activation === Activation.RELU ? Math.max(-128, zeroPoint) : -128, max: 127 };
}

const clamp = (value: number, min: number, max: number): number => (value < min ? min : value > max ? max : value);

interface Conv {
  input: Values;
  inputDims: number[];
  filter: Values;
  filterDims: number[];
  bias: Values;
  outputDims: number[];
  strides: [number, number];
  dilations: [number, number];
  padding: number;
}

/** Top-left padding, TensorFlow's 'same' rule (the extra pixel goes at the end). */
function padBefore(size: number, out: number, kernel: number, stride: number, dilation: number, padding: number): number {
  if (padding === Padding.VALID) return 0;
  const effective = (kernel - 1) * dilation + 1;
  return Math.floor(Math.max((out - 1) * stride + effective - size, 0) / 2);
}

/** Convolution sums per output element; `inputOffset` is −zero point for int8 (0 for float). */
function convolve(conv: Conv, inputOffset: number, finish: (sum: number, channel: number) => number): Values {
  const [, h, w, c] = conv.inputDims as [number, number, number, number];
  const [m, kh, kw] = conv.filterDims as [number, number, number, number];
  const [, oh, ow] = conv.outputDims as [number, number, number, number];
  const [sh, sw] = conv.strides;
  const [dh, dw] = conv.dilations;
  const pt = padBefore(h, oh, kh, sh, dh, conv.padding);
  const pl = padBefore(w, ow, kw, sw, dw, conv.padding);
  const out = new Float64Array(oh * ow * m);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let filter = 0; filter < m; filter++) {
        let sum = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= w) continue;
            const inputAt = (iy * w + ix) * c;
            const filterAt = ((filter * kh + ky) * kw + kx) * c;
            for (let channel = 0; channel < c; channel++) sum += (conv.input[inputAt + channel]! + inputOffset) * conv.filter[filterAt + channel]!;
          }
        }
        out[(oy * ow + ox) * m + filter] = finish(sum + conv.bias[filter]!, filter);
      }
  return out;
}

function fullyConnected(input: Values, weights: Values, bias: Values, units: number, inputOffset: number, finish: (sum: number, unit: number) => number): Values {
  const inputs = input.length;
  if (weights.length !== units * inputs) throw new AtelierError('export-failed', `Checking the TFLite file: fully-connected weights hold ${weights.length} values for ${units} × ${inputs}.`);
  const out = new Float64Array(units);
  for (let unit = 0; unit < units; unit++) {
    let sum = 0;
    for (let i = 0; i < inputs; i++) sum += (input[i]! + inputOffset) * weights[unit * inputs + i]!;
    out[unit] = finish(sum + bias[unit]!, unit);
  }
  return out;
}

function pool(input: Values, inputDims: number[], outputDims: number[], options: Extract<TfliteOperator['options'], { kind: 'Pool2DOptions' }>, kind: 'max' | 'average', round: boolean): Values {
  const [, h, w, c] = inputDims as [number, number, number, number];
  const [, oh, ow] = outputDims as [number, number, number, number];
  const pt = padBefore(h, oh, options.filterHeight, options.strideH, 1, options.padding);
  const pl = padBefore(w, ow, options.filterWidth, options.strideW, 1, options.padding);
  const out = new Float64Array(oh * ow * c);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let channel = 0; channel < c; channel++) {
        let best = -Infinity;
        let sum = 0;
        let count = 0;
        for (let ky = 0; ky < options.filterHeight; ky++)
          for (let kx = 0; kx < options.filterWidth; kx++) {
            const iy = oy * options.strideH - pt + ky;
            const ix = ox * options.strideW - pl + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const value = input[(iy * w + ix) * c + channel]!;
            best = Math.max(best, value);
            sum += value;
            count++;
          }
        // TFLite's int8 average rounds half away from zero.
        const average = round ? Math.sign(sum) * Math.floor((Math.abs(sum) + count / 2) / count) : sum / count;
        out[(oy * ow + ox) * c + channel] = kind === 'max' ? best : average;
      }
  return out;
}

function softmax(logits: Values, beta: number): Values {
  let max = -Infinity;
  for (const value of logits) max = Math.max(max, value);
  let sum = 0;
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(beta * (logits[i]! - max));
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

const fusedFloat = (value: number, activation: number): number => (activation === Activation.RELU ? Math.max(value, 0) : value);

/** Apply a real-valued function to an int8 tensor: dequantize, f, quantize to the output's parameters. */
function throughReal(input: Values, from: TfliteTensor, to: TfliteTensor, f: (values: Values) => Values): Values {
  const a = from.quantization!;
  const b = to.quantization!;
  const real = f(input.map((q) => a.scale[0]! * (q - a.zeroPoint[0]!)));
  return real.map((value) => clamp(Math.round(value / b.scale[0]!) + b.zeroPoint[0]!, -128, 127));
}

function evaluateOperator(model: TfliteModel, index: number, operator: TfliteOperator, values: (Values | null)[]): Values {
  const graph = model.subgraph;
  const code = model.operatorCodes[operator.opcodeIndex]?.builtinCode;
  const tensorOf = (position: number): TfliteTensor => graph.tensors[operator.inputs[position]!]!;
  const valueOf = (position: number): Values => {
    const value = values[operator.inputs[position]!];
    if (!value) throw fail(index, `reads tensor ${operator.inputs[position]} before anything computes it`);
    return value;
  };
  const input = tensorOf(0);
  const output = graph.tensors[operator.outputs[0]!]!;
  const quantized = input.type === TensorType.INT8;
  if (quantized !== (output.type === TensorType.INT8) || (quantized && (!input.quantization || !output.quantization))) throw fail(index, 'mixes int8 and float tensors, or has an int8 tensor without quantization');
  const options = operator.options;
  switch (code) {
    case BuiltinOperator.RESHAPE:
      return valueOf(0);
    case BuiltinOperator.CONV_2D:
    case BuiltinOperator.FULLY_CONNECTED: {
      const activation = options && (options.kind === 'Conv2DOptions' || options.kind === 'FullyConnectedOptions') ? options.activation : Activation.NONE;
      const filter = tensorOf(1);
      let finish = (sum: number, _channel: number): number => fusedFloat(sum, activation);
      let inputOffset = 0;
      if (quantized) {
        const range = outputRange(output, activation);
        const inputScale = input.quantization!.scale[0]!;
        const filterScales = filter.quantization!.scale;
        const multipliers = filterScales.map((scale) => quantizeMultiplier((inputScale * scale) / range.scale));
        inputOffset = -(input.quantization!.zeroPoint[0] ?? 0);
        finish = (sum, channel) => {
          const { multiplier, shift } = multipliers[filterScales.length === 1 ? 0 : channel]!;
          return clamp(multiplyByQuantizedMultiplier(sum, multiplier, shift) + range.zeroPoint, range.min, range.max);
        };
      }
      if (code === BuiltinOperator.FULLY_CONNECTED) return fullyConnected(valueOf(0), valueOf(1), valueOf(2), filter.shape[0]!, inputOffset, finish);
      if (options?.kind !== 'Conv2DOptions') throw fail(index, 'is a convolution without Conv2DOptions');
      return convolve(
        {
          input: valueOf(0),
          inputDims: input.shape,
          filter: valueOf(1),
          filterDims: filter.shape,
          bias: valueOf(2),
          outputDims: output.shape,
          strides: [options.strideH, options.strideW],
          dilations: [options.dilationH, options.dilationW],
          padding: options.padding,
        },
        inputOffset,
        finish,
      );
    }
    case BuiltinOperator.MAX_POOL_2D:
    case BuiltinOperator.AVERAGE_POOL_2D:
      if (options?.kind !== 'Pool2DOptions') throw fail(index, 'is a pooling without Pool2DOptions');
      return pool(valueOf(0), input.shape, output.shape, options, code === BuiltinOperator.MAX_POOL_2D ? 'max' : 'average', quantized);
    case BuiltinOperator.SOFTMAX: {
      const beta = options?.kind === 'SoftmaxOptions' ? options.beta : 1;
      return quantized ? throughReal(valueOf(0), input, output, (x) => softmax(x, beta)) : softmax(valueOf(0), beta);
    }
    case BuiltinOperator.RELU:
    case BuiltinOperator.LOGISTIC:
    case BuiltinOperator.TANH: {
      const f = code === BuiltinOperator.RELU ? (v: number) => Math.max(v, 0) : code === BuiltinOperator.TANH ? Math.tanh : (v: number) => 1 / (1 + Math.exp(-v));
      return quantized ? throughReal(valueOf(0), input, output, (x) => x.map(f)) : valueOf(0).map(f);
    }
    default:
      throw fail(index, `uses builtin operator ${String(code)}, which the checker does not know`);
  }
}

/** What a run gives back: the output per image, and (on request) every tensor's range. */
export interface TfliteRun {
  /** images × output size: real values for a float output, stored integers for an int8 one. */
  output: Float64Array;
  outputSize: number;
}

/**
 * Run `model` on `images` (each the input's size, real values for a float input, stored
 * integers for an int8 one), one image at a time as the file's batch of 1 says. `observe` sees
 * every computed tensor (calibration).
 */
export function runTfliteReference(model: TfliteModel, images: ArrayLike<number>, observe?: (tensor: number, values: Values) => void): TfliteRun {
  const graph = model.subgraph;
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) throw new AtelierError('export-failed', 'Checking the TFLite file: it needs exactly one input and one output.');
  const inputTensor = graph.tensors[graph.inputs[0]!]!;
  const outputTensor = graph.tensors[graph.outputs[0]!]!;
  const perImage = sizeOf(inputTensor.shape);
  const outputSize = sizeOf(outputTensor.shape);
  if (images.length % perImage !== 0) throw new AtelierError('export-failed', `Checking the TFLite file: the input shape [${inputTensor.shape.join(', ')}] does not fit the images.`);
  const constants = graph.tensors.map((tensor) => tensorData(model, tensor));
  const count = images.length / perImage;
  const output = new Float64Array(count * outputSize);
  for (let image = 0; image < count; image++) {
    const values = [...constants];
    const pixels = new Float64Array(perImage);
    for (let i = 0; i < perImage; i++) pixels[i] = images[image * perImage + i]!;
    values[graph.inputs[0]!] = pixels;
    graph.operators.forEach((operator, index) => {
      const result = evaluateOperator(model, index, operator, values);
      values[operator.outputs[0]!] = result;
      observe?.(operator.outputs[0]!, result);
    });
    const result = values[graph.outputs[0]!];
    if (!result || result.length !== outputSize) throw new AtelierError('export-failed', 'Checking the TFLite file: nothing computes the output.');
    output.set(result, image * outputSize);
  }
  return { output, outputSize };
}
