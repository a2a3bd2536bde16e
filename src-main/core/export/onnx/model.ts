/**
 * ONNX models as plain objects (field names as in onnx.proto) and their bytes, through protobufjs.
 */
import { AtelierError } from '../../errors';
import { onnxModelType } from './schema';

export type OnnxDimension = { dim_value: number } | { dim_param: string };

export interface OnnxTensor {
  name: string;
  dims: number[];
  data_type: number;
  /** Little-endian element bytes (how Atelier writes weights). */
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: number[];
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
}

export interface OnnxNode {
  name: string;
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute: OnnxAttribute[];
}

export interface OnnxValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: OnnxDimension[] } } };
  doc_string?: string;
}

export interface OnnxGraph {
  name: string;
  doc_string?: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
}

export interface OnnxModel {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  producer_version: string;
  doc_string?: string;
  graph: OnnxGraph;
  metadata_props: { key: string; value: string }[];
}

/** Serialise a model to the bytes of a `.onnx` file. */
export function encodeOnnx(model: OnnxModel): Uint8Array {
  const type = onnxModelType();
  const problem = type.verify(model);
  if (problem) throw new AtelierError('export-failed', `The ONNX model Atelier built is malformed (${problem}). This is a bug in Atelier's ONNX writer; please report it.`);
  return type.encode(type.fromObject(model)).finish();
}

/** Parse the bytes of a `.onnx` file (fields outside Atelier's subset are skipped). */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  const type = onnxModelType();
  let message;
  try {
    message = type.decode(bytes);
  } catch (error) {
    throw new AtelierError('export-failed', `Not a readable ONNX file: ${(error as Error).message}.`);
  }
  return type.toObject(message, { longs: Number, arrays: true, defaults: false }) as OnnxModel;
}

/** A float32 tensor as stored in a graph (raw little-endian bytes). */
export function floatTensor(name: string, dims: number[], values: Float32Array): OnnxTensor {
  const expected = dims.reduce((product, side) => product * side, 1);
  if (expected !== values.length) throw new AtelierError('export-failed', `Tensor ${name}: shape [${dims.join(', ')}] needs ${expected} values, got ${values.length}.`);
  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { name, dims, data_type: 1, raw_data: bytes };
}

/** The float32 values of a stored tensor, whichever field holds them. */
export function tensorValues(tensor: OnnxTensor): Float32Array {
  if (tensor.data_type !== 1) throw new AtelierError('export-failed', `Tensor ${tensor.name} is not float32 (data type ${tensor.data_type}).`);
  if (tensor.raw_data && tensor.raw_data.byteLength > 0) {
    const raw = tensor.raw_data;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  return Float32Array.from(tensor.float_data ?? []);
}
