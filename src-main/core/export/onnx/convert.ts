/**
 * A TF.js layers model (as the engine describes it) → an ONNX graph, opset 13.
 *
 * Keras layers work channels-last (NHWC) while ONNX's Conv and pooling work channels-first
 * (NCHW). The graph keeps the model's own input layout, transposes to NCHW before the first
 * convolution or pooling, and back to NHWC before Flatten, so that the flattened vector has the
 * order the Dense kernel was trained on. Dropout is the identity at inference and is left out.
 *
 * Supported: Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
 * GlobalMaxPooling2D, Flatten, Dense, Dropout, Activation, ReLU, Softmax; activations linear,
 * relu, sigmoid, tanh, softmax, elu, selu, softplus. Anything else is refused by name.
 */
import { AtelierError } from '../../errors';
import type { LayerDescription, ModelDescription } from '../../engine/protocol';
import { foldBatchNormalization } from '../fold-batch-norm';
import { activationLayerProblem, sequentialInputDims } from '../sequential';
import { floatTensor, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './model';
import { AttributeType, DataType, ONNX_IR_VERSION, ONNX_OPSET } from './schema';

/** Names of the graph's input and output, as users of the file see them. */
export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'probabilities';

export interface OnnxConversionOptions {
  producerVersion: string;
  /** Shown by model viewers (Netron etc.). */
  description: string;
  inputDescription: string;
  outputDescription: string;
  /** Key/value pairs stored in the model's metadata_props. */
  metadata: Record<string, string>;
}

type Layout = 'nhwc' | 'nchw' | 'flat' | 'other';

/** Where the graph is while layers are added: the current value and its layout without batch. */
interface Cursor {
  value: string;
  layout: Layout;
  /** Without the batch dimension, in the physical order of `layout` ([c, h, w] for nchw). */
  dims: number[];
}

const int = (name: string, i: number): OnnxAttribute => ({ name, type: AttributeType.INT, i });
const ints = (name: string, values: number[]): OnnxAttribute => ({ name, type: AttributeType.INTS, ints: values });
const float = (name: string, f: number): OnnxAttribute => ({ name, type: AttributeType.FLOAT, f });

function pair(value: unknown, what: string, layer: LayerDescription): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) return [value[0] as number, value[1] as number];
  throw unsupported(layer, `its ${what} is ${JSON.stringify(value)}`);
}

function unsupported(layer: LayerDescription, why: string): AtelierError {
  return new AtelierError('export-failed', `Layer "${layer.name}" (${layer.className}) cannot be written to ONNX: ${why}. Export this model as TF.js instead.`);
}

/** TF.js serialises data formats in camelCase ('channelsLast'), Keras files in snake case. */
function channelsLast(config: Record<string, unknown>): boolean {
  const format = config.dataFormat ?? 'channelsLast';
  return format === 'channelsLast' || format === 'channels_last';
}

/** ONNX pads and output size for one spatial axis, with TensorFlow's 'same' rule (extra padding at the end). */
function spatial(size: number, kernel: number, stride: number, dilation: number, padding: string): { out: number; begin: number; end: number } {
  const effective = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.floor((size - effective) / stride) + 1, begin: 0, end: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const begin = Math.floor(total / 2);
  return { out, begin, end: total - begin };
}

class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  #counter = 0;

  node(layer: string, opType: string, inputs: string[], attributes: OnnxAttribute[] = []): string {
    const name = `${layer}/${opType}_${this.#counter++}`;
    this.nodes.push({ name, op_type: opType, input: inputs, output: [name], attribute: attributes });
    return name;
  }

  weight(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }
}

function toNchw(graph: GraphBuilder, cursor: Cursor, layer: LayerDescription): Cursor {
  if (cursor.layout === 'nchw') return cursor;
  if (cursor.layout !== 'nhwc') throw unsupported(layer, `it needs an image input (height × width × channels), but gets shape [${cursor.dims.join(', ')}]`);
  const [h, w, c] = cursor.dims as [number, number, number];
  return { value: graph.node(layer.name, 'Transpose', [cursor.value], [ints('perm', [0, 3, 1, 2])]), layout: 'nchw', dims: [c, h, w] };
}

function toNhwc(graph: GraphBuilder, cursor: Cursor, layer: LayerDescription): Cursor {
  if (cursor.layout !== 'nchw') return cursor;
  const [c, h, w] = cursor.dims as [number, number, number];
  return { value: graph.node(layer.name, 'Transpose', [cursor.value], [ints('perm', [0, 2, 3, 1])]), layout: 'nhwc', dims: [h, w, c] };
}

function activation(graph: GraphBuilder, cursor: Cursor, name: unknown, layer: LayerDescription): Cursor {
  const op = (opType: string, attributes: OnnxAttribute[] = []): Cursor => ({ ...cursor, value: graph.node(layer.name, opType, [cursor.value], attributes) });
  switch (name ?? 'linear') {
    case 'linear':
      return cursor;
    case 'relu':
      return op('Relu');
    case 'sigmoid':
      return op('Sigmoid');
    case 'tanh':
      return op('Tanh');
    case 'elu':
      return op('Elu', [float('alpha', 1)]);
    case 'selu':
      return op('Selu');
    case 'softplus':
      return op('Softplus');
    case 'softmax':
      // Keras takes the softmax over the last axis: the channels, which NCHW keeps at axis 1.
      return op('Softmax', [int('axis', cursor.layout === 'nchw' ? 1 : -1)]);
    default:
      throw unsupported(layer, `the activation "${String(name)}" has no ONNX equivalent in Atelier's writer`);
  }
}

function weightsOf(layer: LayerDescription, count: number): LayerDescription['weights'] {
  if (layer.weights.length !== count) throw unsupported(layer, `it has ${layer.weights.length} weight tensors where ${count} were expected`);
  return layer.weights;
}

function dense(graph: GraphBuilder, cursor: Cursor, layer: LayerDescription): Cursor {
  if (cursor.layout !== 'flat') throw unsupported(layer, `Dense on a ${cursor.dims.length + 1}-D input (shape [${cursor.dims.join(', ')}]) is not supported; flatten first`);
  const useBias = layer.config.useBias !== false;
  const [kernel, bias] = weightsOf(layer, useBias ? 2 : 1);
  const [inputs, units] = kernel!.shape as [number, number];
  if (inputs !== cursor.dims[0]) throw unsupported(layer, `its kernel expects ${inputs} inputs but gets ${cursor.dims[0]}`);
  const operands = [cursor.value, graph.weight(`${layer.name}/kernel`, [inputs, units], kernel!.values)];
  if (bias) operands.push(graph.weight(`${layer.name}/bias`, [units], bias.values));
  const out: Cursor = { value: graph.node(layer.name, 'Gemm', operands), layout: 'flat', dims: [units] };
  return activation(graph, out, layer.config.activation, layer);
}

function conv2d(graph: GraphBuilder, input: Cursor, layer: LayerDescription): Cursor {
  const config = layer.config;
  if (!channelsLast(config)) throw unsupported(layer, 'it is channels-first');
  const padding = String(config.padding ?? 'valid');
  if (padding !== 'valid' && padding !== 'same') throw unsupported(layer, `its padding is "${padding}"`);
  const cursor = toNchw(graph, input, layer);
  const useBias = config.useBias !== false;
  const [kernel, bias] = weightsOf(layer, useBias ? 2 : 1);
  const [kh, kw, cin, cout] = kernel!.shape as [number, number, number, number];
  const [channels, height, width] = cursor.dims as [number, number, number];
  if (cin !== channels) throw unsupported(layer, `its kernel expects ${cin} channels but gets ${channels}`);
  const [sh, sw] = pair(config.strides ?? 1, 'strides', layer);
  const [dh, dw] = pair(config.dilationRate ?? 1, 'dilation rate', layer);
  // Keras kernels are [kh, kw, in, out]; ONNX wants [out, in, kh, kw].
  const reordered = new Float32Array(kernel!.values.length);
  const source = kernel!.values;
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) reordered[((o * cin + i) * kh + y) * kw + x] = source[((y * kw + x) * cin + i) * cout + o]!;
  const vertical = spatial(height, kh, sh, dh, padding);
  const horizontal = spatial(width, kw, sw, dw, padding);
  const operands = [cursor.value, graph.weight(`${layer.name}/kernel`, [cout, cin, kh, kw], reordered)];
  if (bias) operands.push(graph.weight(`${layer.name}/bias`, [cout], bias.values));
  const value = graph.node(layer.name, 'Conv', operands, [
    ints('kernel_shape', [kh, kw]),
    ints('strides', [sh, sw]),
    ints('dilations', [dh, dw]),
    ints('pads', [vertical.begin, horizontal.begin, vertical.end, horizontal.end]),
    int('group', 1),
  ]);
  return activation(graph, { value, layout: 'nchw', dims: [cout, vertical.out, horizontal.out] }, config.activation, layer);
}

function pooling(graph: GraphBuilder, input: Cursor, layer: LayerDescription, opType: 'MaxPool' | 'AveragePool'): Cursor {
  const config = layer.config;
  if (!channelsLast(config)) throw unsupported(layer, 'it is channels-first');
  const padding = String(config.padding ?? 'valid');
  if (padding !== 'valid' && padding !== 'same') throw unsupported(layer, `its padding is "${padding}"`);
  const cursor = toNchw(graph, input, layer);
  const [channels, height, width] = cursor.dims as [number, number, number];
  const [ph, pw] = pair(config.poolSize ?? 2, 'pool size', layer);
  const [sh, sw] = pair(config.strides ?? [ph, pw], 'strides', layer);
  const vertical = spatial(height, ph, sh, 1, padding);
  const horizontal = spatial(width, pw, sw, 1, padding);
  const attributes = [ints('kernel_shape', [ph, pw]), ints('strides', [sh, sw]), ints('pads', [vertical.begin, horizontal.begin, vertical.end, horizontal.end])];
  // TensorFlow's average pooling divides by the pixels inside the image only.
  if (opType === 'AveragePool') attributes.push(int('count_include_pad', 0));
  return { value: graph.node(layer.name, opType, [cursor.value], attributes), layout: 'nchw', dims: [channels, vertical.out, horizontal.out] };
}

function globalPooling(graph: GraphBuilder, input: Cursor, layer: LayerDescription, opType: 'GlobalAveragePool' | 'GlobalMaxPool'): Cursor {
  if (!channelsLast(layer.config)) throw unsupported(layer, 'it is channels-first');
  const cursor = toNchw(graph, input, layer);
  const pooled = graph.node(layer.name, opType, [cursor.value]);
  return { value: graph.node(layer.name, 'Flatten', [pooled], [int('axis', 1)]), layout: 'flat', dims: [cursor.dims[0]!] };
}

function flatten(graph: GraphBuilder, input: Cursor, layer: LayerDescription): Cursor {
  // Back to channels-last first: Keras flattens height, width, channels in that order.
  const cursor = toNhwc(graph, input, layer);
  if (cursor.layout === 'flat') return cursor;
  const size = cursor.dims.reduce((product, side) => product * side, 1);
  return { value: graph.node(layer.name, 'Flatten', [cursor.value], [int('axis', 1)]), layout: 'flat', dims: [size] };
}

function addLayer(graph: GraphBuilder, cursor: Cursor, layer: LayerDescription): Cursor {
  switch (layer.className) {
    case 'Dense':
      return dense(graph, cursor, layer);
    case 'Conv2D':
      return conv2d(graph, cursor, layer);
    case 'MaxPooling2D':
      return pooling(graph, cursor, layer, 'MaxPool');
    case 'AveragePooling2D':
      return pooling(graph, cursor, layer, 'AveragePool');
    case 'GlobalAveragePooling2D':
      return globalPooling(graph, cursor, layer, 'GlobalAveragePool');
    case 'GlobalMaxPooling2D':
      return globalPooling(graph, cursor, layer, 'GlobalMaxPool');
    case 'Flatten':
      return flatten(graph, cursor, layer);
    case 'Dropout':
      return cursor;
    case 'Activation':
      return activation(graph, cursor, layer.config.activation, layer);
    case 'ReLU':
    case 'Softmax': {
      const problem = activationLayerProblem(layer, cursor.dims.length);
      if (problem) throw unsupported(layer, problem);
      return activation(graph, cursor, layer.className === 'ReLU' ? 'relu' : 'softmax', layer);
    }
    default:
      throw unsupported(layer, 'this kind of layer is not supported (Atelier writes Conv2D, pooling, Flatten, Dense, Dropout and activations)');
  }
}

/** Build the ONNX model for a described model (with weights). */
export function toOnnx(described: ModelDescription, options: OnnxConversionOptions): OnnxModel {
  const dims = sequentialInputDims(described, 'ONNX');
  const description = foldBatchNormalization(described, 'ONNX');
  const graph = new GraphBuilder();
  let cursor: Cursor = { value: ONNX_INPUT_NAME, layout: dims.length === 3 ? 'nhwc' : dims.length === 1 ? 'flat' : 'other', dims };
  for (const layer of description.layers) cursor = addLayer(graph, cursor, layer);
  if (cursor.layout !== 'flat') throw new AtelierError('export-failed', `The model ends with shape [${cursor.dims.join(', ')}], not one score per class.`);

  const last = graph.nodes.at(-1);
  if (last && last.output[0] === cursor.value) last.output = [ONNX_OUTPUT_NAME];
  else {
    graph.node('output', 'Identity', [cursor.value]);
    graph.nodes.at(-1)!.output = [ONNX_OUTPUT_NAME];
  }

  const batch = { dim_param: 'batch' };
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'Atelier',
    producer_version: options.producerVersion,
    doc_string: options.description,
    graph: {
      name: 'atelier_classifier',
      node: graph.nodes,
      initializer: graph.initializers,
      input: [{ name: ONNX_INPUT_NAME, doc_string: options.inputDescription, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [batch, ...dims.map((side) => ({ dim_value: side }))] } } } }],
      output: [{ name: ONNX_OUTPUT_NAME, doc_string: options.outputDescription, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [batch, { dim_value: cursor.dims[0]! }] } } } }],
    },
    metadata_props: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
  };
}
