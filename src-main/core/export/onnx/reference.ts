/**
 * A small, slow, plain-TypeScript evaluator for the ONNX graphs Atelier writes. Export runs a
 * freshly written `.onnx` file through it — decoded from the bytes on disk, independent of
 * TensorFlow.js — and compares its probabilities with the engine's, so a wrong weight order or
 * flatten order is caught before the file is moved into place. It implements only the operators
 * `convert.ts` emits, with the semantics of opset 13.
 */
import { AtelierError } from '../../errors';
import { tensorValues, type OnnxAttribute, type OnnxModel, type OnnxNode } from './model';

interface Value {
  dims: number[];
  data: Float32Array;
}

const sizeOf = (dims: readonly number[]): number => dims.reduce((product, side) => product * side, 1);

function attribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute.find((candidate) => candidate.name === name);
}
function intAttribute(node: OnnxNode, name: string, fallback: number): number {
  return attribute(node, name)?.i ?? fallback;
}
function intsAttribute(node: OnnxNode, name: string, fallback: number[]): number[] {
  const found = attribute(node, name)?.ints;
  return found && found.length ? found : fallback;
}
function floatAttribute(node: OnnxNode, name: string, fallback: number): number {
  return attribute(node, name)?.f ?? fallback;
}

function fail(node: OnnxNode, why: string): AtelierError {
  return new AtelierError('export-failed', `Checking the ONNX file: node ${node.name} (${node.op_type}) ${why}.`);
}

function transpose(x: Value, perm: number[]): Value {
  const rank = x.dims.length;
  const outDims = perm.map((axis) => x.dims[axis]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let axis = rank - 2; axis >= 0; axis--) inStrides[axis] = inStrides[axis + 1]! * x.dims[axis + 1]!;
  const out = new Float32Array(x.data.length);
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < out.length; flat++) {
    let source = 0;
    for (let axis = 0; axis < rank; axis++) source += index[axis]! * inStrides[perm[axis]!]!;
    out[flat] = x.data[source]!;
    for (let axis = rank - 1; axis >= 0; axis--) {
      if (++index[axis]! < outDims[axis]!) break;
      index[axis] = 0;
    }
  }
  return { dims: outDims, data: out };
}

function conv(node: OnnxNode, x: Value, w: Value, b: Value | undefined): Value {
  if (intAttribute(node, 'group', 1) !== 1) throw fail(node, 'uses groups');
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const [m, cw, kh, kw] = w.dims as [number, number, number, number];
  if (cw !== c) throw fail(node, `expects ${cw} channels, gets ${c}`);
  const [sh, sw] = intsAttribute(node, 'strides', [1, 1]) as [number, number];
  const [dh, dw] = intsAttribute(node, 'dilations', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = intsAttribute(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  const oh = Math.floor((h + pt + pb - ((kh - 1) * dh + 1)) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - ((kw - 1) * dw + 1)) / sw) + 1;
  const out = new Float32Array(n * m * oh * ow);
  for (let image = 0; image < n; image++)
    for (let filter = 0; filter < m; filter++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let sum = b ? b.data[filter]! : 0;
          for (let channel = 0; channel < c; channel++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix < 0 || ix >= wd) continue;
                sum += x.data[((image * c + channel) * h + iy) * wd + ix]! * w.data[((filter * c + channel) * kh + ky) * kw + kx]!;
              }
            }
          out[((image * m + filter) * oh + oy) * ow + ox] = sum;
        }
  return { dims: [n, m, oh, ow], data: out };
}

function pool(node: OnnxNode, x: Value, kind: 'max' | 'average'): Value {
  const [n, c, h, w] = x.dims as [number, number, number, number];
  const [kh, kw] = intsAttribute(node, 'kernel_shape', []) as [number, number];
  const [sh, sw] = intsAttribute(node, 'strides', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = intsAttribute(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  const includePad = intAttribute(node, 'count_include_pad', 0) === 1;
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1;
  const out = new Float32Array(n * c * oh * ow);
  for (let plane = 0; plane < n * c; plane++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity;
        let sum = 0;
        let count = 0;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const iy = oy * sh - pt + ky;
            const ix = ox * sw - pl + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const value = x.data[(plane * h + iy) * w + ix]!;
            best = Math.max(best, value);
            sum += value;
            count++;
          }
        out[(plane * oh + oy) * ow + ox] = kind === 'max' ? best : sum / (includePad ? kh * kw : count);
      }
  return { dims: [n, c, oh, ow], data: out };
}

function globalPool(x: Value, kind: 'max' | 'average'): Value {
  const [n, c] = x.dims as [number, number];
  const area = sizeOf(x.dims.slice(2));
  const out = new Float32Array(n * c);
  for (let plane = 0; plane < n * c; plane++) {
    let best = -Infinity;
    let sum = 0;
    for (let i = 0; i < area; i++) {
      const value = x.data[plane * area + i]!;
      best = Math.max(best, value);
      sum += value;
    }
    out[plane] = kind === 'max' ? best : sum / area;
  }
  return { dims: [n, c, 1, 1], data: out };
}

function gemm(node: OnnxNode, a: Value, b: Value, c: Value | undefined): Value {
  if (intAttribute(node, 'transA', 0) !== 0) throw fail(node, 'transposes A');
  const transB = intAttribute(node, 'transB', 0) === 1;
  const alpha = floatAttribute(node, 'alpha', 1);
  const beta = floatAttribute(node, 'beta', 1);
  const [rows, inner] = a.dims as [number, number];
  const columns = transB ? b.dims[0]! : b.dims[1]!;
  const out = new Float32Array(rows * columns);
  for (let row = 0; row < rows; row++)
    for (let column = 0; column < columns; column++) {
      let sum = 0;
      for (let k = 0; k < inner; k++) sum += a.data[row * inner + k]! * (transB ? b.data[column * inner + k]! : b.data[k * columns + column]!);
      // C broadcasts: [columns] or [rows, columns].
      const bias = c ? (c.data.length === columns ? c.data[column]! : c.data[row * columns + column]!) : 0;
      out[row * columns + column] = alpha * sum + beta * bias;
    }
  return { dims: [rows, columns], data: out };
}

function softmax(x: Value, axisAttribute: number): Value {
  const rank = x.dims.length;
  const axis = axisAttribute < 0 ? axisAttribute + rank : axisAttribute;
  const size = x.dims[axis]!;
  const inner = sizeOf(x.dims.slice(axis + 1));
  const outer = sizeOf(x.dims.slice(0, axis));
  const out = new Float32Array(x.data.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => (o * size + k) * inner + i;
      let max = -Infinity;
      for (let k = 0; k < size; k++) max = Math.max(max, x.data[at(k)]!);
      let sum = 0;
      for (let k = 0; k < size; k++) sum += Math.exp(x.data[at(k)]! - max);
      for (let k = 0; k < size; k++) out[at(k)] = Math.exp(x.data[at(k)]! - max) / sum;
    }
  return { dims: x.dims, data: out };
}

function elementwise(x: Value, f: (value: number) => number): Value {
  return { dims: x.dims, data: x.data.map(f) };
}

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;

function evaluateNode(node: OnnxNode, inputs: (Value | undefined)[]): Value {
  const [x, second, third] = inputs;
  if (!x) throw fail(node, 'has no input');
  switch (node.op_type) {
    case 'Identity':
      return x;
    case 'Transpose':
      return transpose(x, intsAttribute(node, 'perm', x.dims.map((_, axis) => x.dims.length - 1 - axis)));
    case 'Conv':
      if (!second) throw fail(node, 'has no weights');
      return conv(node, x, second, third);
    case 'MaxPool':
      return pool(node, x, 'max');
    case 'AveragePool':
      return pool(node, x, 'average');
    case 'GlobalMaxPool':
      return globalPool(x, 'max');
    case 'GlobalAveragePool':
      return globalPool(x, 'average');
    case 'Flatten': {
      const axis = intAttribute(node, 'axis', 1);
      return { dims: [sizeOf(x.dims.slice(0, axis)), sizeOf(x.dims.slice(axis))], data: x.data };
    }
    case 'Gemm':
      if (!second) throw fail(node, 'has no B');
      return gemm(node, x, second, third);
    case 'Relu':
      return elementwise(x, (v) => Math.max(v, 0));
    case 'Sigmoid':
      return elementwise(x, (v) => 1 / (1 + Math.exp(-v)));
    case 'Tanh':
      return elementwise(x, Math.tanh);
    case 'Softplus':
      return elementwise(x, (v) => Math.log1p(Math.exp(v)));
    case 'Elu': {
      const alpha = floatAttribute(node, 'alpha', 1);
      return elementwise(x, (v) => (v >= 0 ? v : alpha * Math.expm1(v)));
    }
    case 'Selu': {
      const alpha = floatAttribute(node, 'alpha', SELU_ALPHA);
      const gamma = floatAttribute(node, 'gamma', SELU_GAMMA);
      return elementwise(x, (v) => gamma * (v > 0 ? v : alpha * Math.expm1(v)));
    }
    case 'Softmax':
      return softmax(x, intAttribute(node, 'axis', -1));
    default:
      throw fail(node, 'is not an operator the checker knows');
  }
}

/**
 * Run `model` on a batch (`input` holds batch × the input's per-example size) and return its one
 * output. Slow on purpose (plain loops): it checks a handful of probe images, not a dataset.
 */
export function runOnnxReference(model: OnnxModel, input: Float32Array): { dims: number[]; data: Float32Array } {
  const graph = model.graph;
  const graphInput = graph.input.find((candidate) => !graph.initializer.some((tensor) => tensor.name === candidate.name));
  const graphOutput = graph.output[0];
  if (!graphInput || !graphOutput) throw new AtelierError('export-failed', 'Checking the ONNX file: the graph has no input or no output.');
  const exampleDims = graphInput.type.tensor_type.shape.dim.slice(1).map((dim) => ('dim_value' in dim ? Number(dim.dim_value) : NaN));
  const perExample = sizeOf(exampleDims);
  if (!Number.isFinite(perExample) || input.length % perExample !== 0) throw new AtelierError('export-failed', `Checking the ONNX file: the input shape [${exampleDims.join(', ')}] does not fit the probe.`);
  const values = new Map<string, Value>();
  for (const tensor of graph.initializer) values.set(tensor.name, { dims: tensor.dims.map(Number), data: tensorValues(tensor) });
  values.set(graphInput.name, { dims: [input.length / perExample, ...exampleDims], data: input });
  for (const node of graph.node) {
    const result = evaluateNode(node, node.input.map((name) => (name === '' ? undefined : values.get(name))));
    values.set(node.output[0]!, result);
  }
  const output = values.get(graphOutput.name);
  if (!output) throw new AtelierError('export-failed', `Checking the ONNX file: nothing computes the output "${graphOutput.name}".`);
  return output;
}
