/**
 * A TF.js layers model (as the engine describes it) → a float32 TFLite model.
 *
 * TFLite works channels-last (NHWC) like TF.js, so no transposes are needed: Flatten after a
 * convolution is a RESHAPE that keeps height, width, channel order, the order the Dense kernel
 * was trained on. Only the weights change layout: TF.js Conv2D kernels are [h, w, in, out],
 * TFLite CONV_2D filters [out, h, w, in]; Dense kernels are [in, out], FULLY_CONNECTED weights
 * [out, in]. ReLU is fused into the convolution or fully-connected operator before it; Dropout
 * is the identity at inference and is left out.
 *
 * The batch is fixed to 1 (shape [1, 28, 28] or [1, 28, 28, 1]): every runtime accepts a static
 * shape, and one image at a time is how a phone or microcontroller classifies.
 */
import { AtelierError } from '../../errors';
import type { LayerDescription, ModelDescription } from '../../engine/protocol';
import { foldBatchNormalization } from '../fold-batch-norm';
import { activationLayerProblem, sequentialInputDims } from '../sequential';
import {
  Activation,
  BuiltinOperator,
  Padding,
  TensorType,
  TFLITE_SCHEMA_VERSION,
  type ActivationValue,
  type BuiltinOperatorValue,
  type BuiltinOptions,
  type TfliteModel,
  type TfliteTensor,
} from './schema';

export const TFLITE_INPUT_NAME = 'input';
export const TFLITE_OUTPUT_NAME = 'probabilities';

type Layout = 'image' | 'flat' | 'other';

interface Cursor {
  tensor: number;
  layout: Layout;
  /** Without the batch dimension. */
  dims: number[];
}

function unsupported(layer: LayerDescription, why: string): AtelierError {
  return new AtelierError('export-failed', `Layer "${layer.name}" (${layer.className}) cannot be written to TFLite: ${why}. Export this model as TF.js or ONNX instead.`);
}

function pair(value: unknown, what: string, layer: LayerDescription): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) return [value[0] as number, value[1] as number];
  throw unsupported(layer, `its ${what} is ${JSON.stringify(value)}`);
}

function channelsLast(config: Record<string, unknown>): boolean {
  const format = config.dataFormat ?? 'channelsLast';
  return format === 'channelsLast' || format === 'channels_last';
}

/** Output size for one spatial axis under TensorFlow's padding rules (which TFLite shares). */
function outputSize(size: number, kernel: number, stride: number, dilation: number, padding: 'same' | 'valid'): number {
  const effective = (kernel - 1) * dilation + 1;
  return padding === 'valid' ? Math.floor((size - effective) / stride) + 1 : Math.ceil(size / stride);
}

function paddingOf(layer: LayerDescription): 'same' | 'valid' {
  const padding = String(layer.config.padding ?? 'valid');
  if (padding !== 'valid' && padding !== 'same') throw unsupported(layer, `its padding is "${padding}"`);
  return padding;
}

const floatBytes = (values: ArrayLike<number>): Uint8Array => {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
};

const int32Bytes = (values: ArrayLike<number>): Uint8Array => {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(i * 4, values[i]!, true);
  return bytes;
};

class GraphBuilder {
  readonly tensors: TfliteTensor[] = [];
  readonly buffers: Uint8Array[] = [new Uint8Array(0)];
  readonly codes: { builtinCode: BuiltinOperatorValue; version: number }[] = [];
  readonly operators: TfliteModel['subgraph']['operators'] = [];

  tensor(name: string, shape: number[], data: Uint8Array | null = null, type: TfliteTensor['type'] = TensorType.FLOAT32): number {
    let buffer = 0;
    if (data) {
      buffer = this.buffers.length;
      this.buffers.push(data);
    }
    this.tensors.push({ name, shape, type, buffer, quantization: null });
    return this.tensors.length - 1;
  }

  operator(code: BuiltinOperatorValue, inputs: number[], outputs: number[], options: BuiltinOptions | null): void {
    let index = this.codes.findIndex((entry) => entry.builtinCode === code);
    if (index < 0) {
      this.codes.push({ builtinCode: code, version: 1 });
      index = this.codes.length - 1;
    }
    this.operators.push({ opcodeIndex: index, inputs, outputs, options });
  }
}

function weightsOf(layer: LayerDescription, useBias: boolean): { kernel: LayerDescription['weights'][number]; bias: Float32Array | null } {
  const expected = useBias ? 2 : 1;
  if (layer.weights.length !== expected) throw unsupported(layer, `it has ${layer.weights.length} weight tensors where ${expected} were expected`);
  return { kernel: layer.weights[0]!, bias: useBias ? layer.weights[1]!.values : null };
}

/** A standalone activation as its own operator (relu, sigmoid, tanh, softmax). */
function activationOperator(graph: GraphBuilder, cursor: Cursor, name: unknown, layer: LayerDescription): Cursor {
  const code = ({ relu: BuiltinOperator.RELU, sigmoid: BuiltinOperator.LOGISTIC, tanh: BuiltinOperator.TANH, softmax: BuiltinOperator.SOFTMAX } as Record<string, BuiltinOperatorValue>)[String(name ?? 'linear')];
  if (name === undefined || name === null || name === 'linear') return cursor;
  if (code === undefined) throw unsupported(layer, `the activation "${String(name)}" has no TFLite equivalent in Atelier's writer`);
  if (code === BuiltinOperator.SOFTMAX && cursor.layout !== 'flat') throw unsupported(layer, 'softmax is supported on a flat vector of scores only');
  const out = graph.tensor(`${layer.name}/${String(name)}`, [1, ...cursor.dims]);
  graph.operator(code, [cursor.tensor], [out], code === BuiltinOperator.SOFTMAX ? { kind: 'SoftmaxOptions', beta: 1 } : null);
  return { ...cursor, tensor: out };
}

/** Split a Keras activation into what the operator can fuse (ReLU) and what must follow it. */
function fusable(name: unknown): { fused: ActivationValue; after: unknown } {
  if (name === 'relu') return { fused: Activation.RELU, after: 'linear' };
  return { fused: Activation.NONE, after: name ?? 'linear' };
}

function flatten(graph: GraphBuilder, cursor: Cursor, layer: LayerDescription): Cursor {
  if (cursor.layout === 'flat') return cursor;
  const size = cursor.dims.reduce((product, side) => product * side, 1);
  const shape = graph.tensor(`${layer.name}/shape`, [2], int32Bytes([1, size]), TensorType.INT32);
  const out = graph.tensor(`${layer.name}/reshape`, [1, size]);
  graph.operator(BuiltinOperator.RESHAPE, [cursor.tensor, shape], [out], { kind: 'ReshapeOptions', newShape: [1, size] });
  return { tensor: out, layout: 'flat', dims: [size] };
}

function dense(graph: GraphBuilder, input: Cursor, layer: LayerDescription): Cursor {
  if (input.layout !== 'flat') throw unsupported(layer, `Dense on a ${input.dims.length + 1}-D input (shape [${input.dims.join(', ')}]) is not supported; flatten first`);
  const { kernel, bias } = weightsOf(layer, layer.config.useBias !== false);
  const [inputs, units] = kernel.shape as [number, number];
  if (inputs !== input.dims[0]) throw unsupported(layer, `its kernel expects ${inputs} inputs but gets ${input.dims[0]}`);
  const weights = new Float32Array(units * inputs);
  for (let o = 0; o < units; o++) for (let i = 0; i < inputs; i++) weights[o * inputs + i] = kernel.values[i * units + o]!;
  const weightTensor = graph.tensor(`${layer.name}/kernel`, [units, inputs], floatBytes(weights));
  // A zero bias where the layer has none: the same result, and every runtime expects a bias.
  const biasTensor = graph.tensor(`${layer.name}/bias`, [units], floatBytes(bias ?? new Float32Array(units)));
  const { fused, after } = fusable(layer.config.activation);
  const out = graph.tensor(`${layer.name}/dense`, [1, units]);
  graph.operator(BuiltinOperator.FULLY_CONNECTED, [input.tensor, weightTensor, biasTensor], [out], { kind: 'FullyConnectedOptions', activation: fused });
  return activationOperator(graph, { tensor: out, layout: 'flat', dims: [units] }, after, layer);
}

function conv2d(graph: GraphBuilder, input: Cursor, layer: LayerDescription): Cursor {
  const config = layer.config;
  if (!channelsLast(config)) throw unsupported(layer, 'it is channels-first');
  if (input.layout !== 'image') throw unsupported(layer, `it needs an image input (height × width × channels), but gets shape [${input.dims.join(', ')}]`);
  const padding = paddingOf(layer);
  const { kernel, bias } = weightsOf(layer, config.useBias !== false);
  const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
  const [height, width, channels] = input.dims as [number, number, number];
  if (cin !== channels) throw unsupported(layer, `its kernel expects ${cin} channels but gets ${channels}`);
  const [sh, sw] = pair(config.strides ?? 1, 'strides', layer);
  const [dh, dw] = pair(config.dilationRate ?? 1, 'dilation rate', layer);
  const filter = new Float32Array(kernel.values.length);
  for (let o = 0; o < cout; o++)
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < cin; i++) filter[((o * kh + y) * kw + x) * cin + i] = kernel.values[((y * kw + x) * cin + i) * cout + o]!;
  const filterTensor = graph.tensor(`${layer.name}/kernel`, [cout, kh, kw, cin], floatBytes(filter));
  const biasTensor = graph.tensor(`${layer.name}/bias`, [cout], floatBytes(bias ?? new Float32Array(cout)));
  const dims = [outputSize(height, kh, sh, dh, padding), outputSize(width, kw, sw, dw, padding), cout];
  const { fused, after } = fusable(config.activation);
  const out = graph.tensor(`${layer.name}/conv`, [1, ...dims]);
  graph.operator(BuiltinOperator.CONV_2D, [input.tensor, filterTensor, biasTensor], [out], {
    kind: 'Conv2DOptions',
    padding: padding === 'same' ? Padding.SAME : Padding.VALID,
    strideW: sw,
    strideH: sh,
    activation: fused,
    dilationW: dw,
    dilationH: dh,
  });
  return activationOperator(graph, { tensor: out, layout: 'image', dims }, after, layer);
}

function pooling(graph: GraphBuilder, input: Cursor, layer: LayerDescription, code: BuiltinOperatorValue): Cursor {
  const config = layer.config;
  if (!channelsLast(config)) throw unsupported(layer, 'it is channels-first');
  if (input.layout !== 'image') throw unsupported(layer, `it needs an image input, but gets shape [${input.dims.join(', ')}]`);
  const padding = paddingOf(layer);
  const [height, width, channels] = input.dims as [number, number, number];
  const [ph, pw] = pair(config.poolSize ?? 2, 'pool size', layer);
  const [sh, sw] = pair(config.strides ?? [ph, pw], 'strides', layer);
  const dims = [outputSize(height, ph, sh, 1, padding), outputSize(width, pw, sw, 1, padding), channels];
  const out = graph.tensor(`${layer.name}/pool`, [1, ...dims]);
  graph.operator(code, [input.tensor], [out], {
    kind: 'Pool2DOptions',
    padding: padding === 'same' ? Padding.SAME : Padding.VALID,
    strideW: sw,
    strideH: sh,
    filterWidth: pw,
    filterHeight: ph,
    activation: Activation.NONE,
  });
  return { tensor: out, layout: 'image', dims };
}

function addLayer(graph: GraphBuilder, cursor: Cursor, layer: LayerDescription): Cursor {
  switch (layer.className) {
    case 'Dense':
      return dense(graph, cursor, layer);
    case 'Conv2D':
      return conv2d(graph, cursor, layer);
    case 'MaxPooling2D':
      return pooling(graph, cursor, layer, BuiltinOperator.MAX_POOL_2D);
    case 'AveragePooling2D':
      return pooling(graph, cursor, layer, BuiltinOperator.AVERAGE_POOL_2D);
    case 'Flatten':
      return flatten(graph, cursor, layer);
    case 'Dropout':
      return cursor;
    case 'Activation':
      return activationOperator(graph, cursor, layer.config.activation, layer);
    case 'ReLU':
    case 'Softmax': {
      const problem = activationLayerProblem(layer, cursor.dims.length);
      if (problem) throw unsupported(layer, problem);
      return activationOperator(graph, cursor, layer.className === 'ReLU' ? 'relu' : 'softmax', layer);
    }
    default:
      throw unsupported(layer, 'this kind of layer is not supported (Atelier writes Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dense, Dropout and relu, sigmoid, tanh, softmax activations)');
  }
}

/** Build the float32 TFLite model for a described model (with weights). */
export function toTflite(described: ModelDescription, modelDescription: string): TfliteModel {
  const dims = sequentialInputDims(described, 'TFLite');
  const description = foldBatchNormalization(described, 'TFLite');
  const graph = new GraphBuilder();
  const input = graph.tensor(TFLITE_INPUT_NAME, [1, ...dims]);
  let cursor: Cursor = { tensor: input, layout: dims.length === 3 ? 'image' : dims.length === 1 ? 'flat' : 'other', dims };
  for (const layer of description.layers) cursor = addLayer(graph, cursor, layer);
  if (cursor.layout !== 'flat' || cursor.tensor === input) throw new AtelierError('export-failed', `The model ends with shape [${cursor.dims.join(', ')}], not one score per class.`);
  graph.tensors[cursor.tensor]!.name = TFLITE_OUTPUT_NAME;
  return {
    version: TFLITE_SCHEMA_VERSION,
    description: modelDescription,
    operatorCodes: graph.codes,
    subgraph: { name: 'atelier_classifier', tensors: graph.tensors, inputs: [input], outputs: [cursor.tensor], operators: graph.operators },
    buffers: graph.buffers,
    metadata: [],
  };
}
