/**
 * The subset of TensorFlow Lite's FlatBuffer schema (tensorflow/lite/schema/schema.fbs, file
 * identifier "TFL3", schema version 3) that Atelier writes and reads back, through Google's
 * `flatbuffers` library. Written by hand in the shape flatc would generate, because the subset is
 * small and the official schema is not vendored here.
 *
 * A table's fields are addressed by their slot: the field's position in the schema, counting a
 * union as two slots (its type, then its value). The slot numbers and enum values below are the
 * official ones, including fields Atelier never sets, so that any TFLite reader finds the
 * fields where the schema puts them.
 */
import { Builder, ByteBuffer } from 'flatbuffers';
import { AtelierError } from '../../errors';

export const TFLITE_FILE_IDENTIFIER = 'TFL3';
export const TFLITE_SCHEMA_VERSION = 3;

/** `enum TensorType : byte` (the values Atelier uses). */
export const TensorType = { FLOAT32: 0, INT32: 2, INT8: 9 } as const;
export type TensorTypeValue = (typeof TensorType)[keyof typeof TensorType];

/** `enum BuiltinOperator` (the values Atelier uses). */
export const BuiltinOperator = {
  AVERAGE_POOL_2D: 1,
  CONV_2D: 3,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  RELU: 19,
  RESHAPE: 22,
  SOFTMAX: 25,
  TANH: 28,
} as const;
export type BuiltinOperatorValue = (typeof BuiltinOperator)[keyof typeof BuiltinOperator];

/** `enum Padding : byte { SAME, VALID }`. */
export const Padding = { SAME: 0, VALID: 1 } as const;
export type PaddingValue = (typeof Padding)[keyof typeof Padding];

/** `enum ActivationFunctionType : byte` (the values Atelier uses). */
export const Activation = { NONE: 0, RELU: 1 } as const;
export type ActivationValue = (typeof Activation)[keyof typeof Activation];

/** Positions in `union BuiltinOptions` (0 is NONE). */
const OptionsType = { Conv2DOptions: 1, Pool2DOptions: 5, FullyConnectedOptions: 8, SoftmaxOptions: 9, ReshapeOptions: 17 } as const;

export type BuiltinOptions =
  | { kind: 'Conv2DOptions'; padding: PaddingValue; strideW: number; strideH: number; activation: ActivationValue; dilationW: number; dilationH: number }
  | { kind: 'Pool2DOptions'; padding: PaddingValue; strideW: number; strideH: number; filterWidth: number; filterHeight: number; activation: ActivationValue }
  | { kind: 'FullyConnectedOptions'; activation: ActivationValue }
  | { kind: 'SoftmaxOptions'; beta: number }
  | { kind: 'ReshapeOptions'; newShape: number[] };

/** `table QuantizationParameters`: real = scale × (q − zero_point), per tensor or along one dimension. */
export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TfliteTensor {
  name: string;
  shape: number[];
  type: TensorTypeValue;
  /** Index into the model's buffers; 0 (the empty sentinel) for tensors computed at run time. */
  buffer: number;
  quantization: TfliteQuantization | null;
}

export interface TfliteOperator {
  opcodeIndex: number;
  inputs: number[];
  outputs: number[];
  options: BuiltinOptions | null;
}

export interface TfliteOperatorCode {
  builtinCode: BuiltinOperatorValue;
  version: number;
}

export interface TfliteModel {
  version: number;
  description: string;
  operatorCodes: TfliteOperatorCode[];
  /** Atelier writes one subgraph: the model. */
  subgraph: { name: string; tensors: TfliteTensor[]; inputs: number[]; outputs: number[]; operators: TfliteOperator[] };
  /** Buffer 0 must be empty. */
  buffers: Uint8Array[];
  /** `table Metadata { name; buffer }`: named buffers, e.g. Atelier's description of the input. */
  metadata: { name: string; buffer: number }[];
}

// ─── writing ──────────────────────────────────────────────────────────────────────────────────────

function int32Vector(builder: Builder, values: readonly number[]): number {
  builder.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) builder.addInt32(values[i]!);
  return builder.endVector();
}

function float32Vector(builder: Builder, values: readonly number[]): number {
  builder.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) builder.addFloat32(values[i]!);
  return builder.endVector();
}

function int64Vector(builder: Builder, values: readonly number[]): number {
  builder.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) builder.addInt64(BigInt(values[i]!));
  return builder.endVector();
}

function offsetVector(builder: Builder, offsets: readonly number[]): number {
  builder.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) builder.addOffset(offsets[i]!);
  return builder.endVector();
}

/** `data:[ubyte] (force_align: 16)`: weights start on a 16-byte boundary, so a runtime can map them in place. */
function alignedBytes(builder: Builder, bytes: Uint8Array): number {
  builder.startVector(1, bytes.length, 16);
  for (let i = bytes.length - 1; i >= 0; i--) builder.addInt8(bytes[i]!);
  return builder.endVector();
}

function writeOptions(builder: Builder, options: BuiltinOptions): number {
  switch (options.kind) {
    case 'Conv2DOptions':
      builder.startObject(6);
      builder.addFieldInt8(0, options.padding, 0);
      builder.addFieldInt32(1, options.strideW, 0);
      builder.addFieldInt32(2, options.strideH, 0);
      builder.addFieldInt8(3, options.activation, 0);
      builder.addFieldInt32(4, options.dilationW, 1);
      builder.addFieldInt32(5, options.dilationH, 1);
      return builder.endObject();
    case 'Pool2DOptions':
      builder.startObject(6);
      builder.addFieldInt8(0, options.padding, 0);
      builder.addFieldInt32(1, options.strideW, 0);
      builder.addFieldInt32(2, options.strideH, 0);
      builder.addFieldInt32(3, options.filterWidth, 0);
      builder.addFieldInt32(4, options.filterHeight, 0);
      builder.addFieldInt8(5, options.activation, 0);
      return builder.endObject();
    case 'FullyConnectedOptions':
      builder.startObject(1);
      builder.addFieldInt8(0, options.activation, 0);
      return builder.endObject();
    case 'SoftmaxOptions':
      builder.startObject(1);
      builder.addFieldFloat32(0, options.beta, 0);
      return builder.endObject();
    case 'ReshapeOptions': {
      const shape = int32Vector(builder, options.newShape);
      builder.startObject(1);
      builder.addFieldOffset(0, shape, 0);
      return builder.endObject();
    }
  }
}

function writeQuantization(builder: Builder, quantization: TfliteQuantization): number {
  const scale = float32Vector(builder, quantization.scale);
  const zeroPoint = int64Vector(builder, quantization.zeroPoint);
  builder.startObject(7);
  builder.addFieldOffset(2, scale, 0);
  builder.addFieldOffset(3, zeroPoint, 0);
  builder.addFieldInt32(6, quantization.quantizedDimension, 0);
  return builder.endObject();
}

function writeTensor(builder: Builder, tensor: TfliteTensor): number {
  const shape = int32Vector(builder, tensor.shape);
  const name = builder.createString(tensor.name);
  const quantization = tensor.quantization ? writeQuantization(builder, tensor.quantization) : 0;
  builder.startObject(8);
  builder.addFieldOffset(0, shape, 0);
  builder.addFieldInt8(1, tensor.type, 0);
  builder.addFieldInt32(2, tensor.buffer, 0);
  builder.addFieldOffset(3, name, 0);
  if (quantization) builder.addFieldOffset(4, quantization, 0);
  return builder.endObject();
}

function writeOperator(builder: Builder, operator: TfliteOperator): number {
  const inputs = int32Vector(builder, operator.inputs);
  const outputs = int32Vector(builder, operator.outputs);
  const options = operator.options ? writeOptions(builder, operator.options) : 0;
  builder.startObject(8);
  builder.addFieldInt32(0, operator.opcodeIndex, 0);
  builder.addFieldOffset(1, inputs, 0);
  builder.addFieldOffset(2, outputs, 0);
  if (operator.options) {
    builder.addFieldInt8(3, OptionsType[operator.options.kind], 0);
    builder.addFieldOffset(4, options, 0);
  }
  return builder.endObject();
}

function writeOperatorCode(builder: Builder, code: TfliteOperatorCode): number {
  builder.startObject(4);
  // Readers before TF 2.4 know only the byte-sized field 0; newer ones read the int32 field 3
  // (the larger of the two). Codes below 127 go in both, as TensorFlow's own converter does.
  builder.addFieldInt8(0, code.builtinCode, 0);
  builder.addFieldInt32(2, code.version, 1);
  builder.addFieldInt32(3, code.builtinCode, 0);
  return builder.endObject();
}

/** The bytes of a .tflite file. */
export function encodeTflite(model: TfliteModel): Uint8Array {
  if (model.buffers[0]?.length !== 0) throw new AtelierError('export-failed', 'The TFLite model Atelier built has no empty buffer 0. This is a bug in Atelier’s TFLite writer; please report it.');
  const builder = new Builder(1 << 16);
  const buffers = model.buffers.map((data) => {
    const bytes = data.length ? alignedBytes(builder, data) : 0;
    builder.startObject(1);
    if (bytes) builder.addFieldOffset(0, bytes, 0);
    return builder.endObject();
  });
  const graph = model.subgraph;
  const tensors = graph.tensors.map((tensor) => writeTensor(builder, tensor));
  const operators = graph.operators.map((operator) => writeOperator(builder, operator));
  const tensorsVector = offsetVector(builder, tensors);
  const inputs = int32Vector(builder, graph.inputs);
  const outputs = int32Vector(builder, graph.outputs);
  const operatorsVector = offsetVector(builder, operators);
  const graphName = builder.createString(graph.name);
  builder.startObject(5);
  builder.addFieldOffset(0, tensorsVector, 0);
  builder.addFieldOffset(1, inputs, 0);
  builder.addFieldOffset(2, outputs, 0);
  builder.addFieldOffset(3, operatorsVector, 0);
  builder.addFieldOffset(4, graphName, 0);
  const subgraph = builder.endObject();

  const codes = offsetVector(builder, model.operatorCodes.map((code) => writeOperatorCode(builder, code)));
  const subgraphs = offsetVector(builder, [subgraph]);
  const description = builder.createString(model.description);
  const buffersVector = offsetVector(builder, buffers);
  const metadata = offsetVector(
    builder,
    model.metadata.map((entry) => {
      const name = builder.createString(entry.name);
      builder.startObject(2);
      builder.addFieldOffset(0, name, 0);
      builder.addFieldInt32(1, entry.buffer, 0);
      return builder.endObject();
    }),
  );
  builder.startObject(7);
  builder.addFieldInt32(0, model.version, 0);
  builder.addFieldOffset(1, codes, 0);
  builder.addFieldOffset(2, subgraphs, 0);
  builder.addFieldOffset(3, description, 0);
  builder.addFieldOffset(4, buffersVector, 0);
  if (model.metadata.length) builder.addFieldOffset(6, metadata, 0);
  builder.finish(builder.endObject(), TFLITE_FILE_IDENTIFIER);
  return builder.asUint8Array().slice();
}

// ─── reading ──────────────────────────────────────────────────────────────────────────────────────

/** One table in a buffer: its fields by slot, with the schema's defaults when absent. */
class Table {
  constructor(
    private readonly bb: ByteBuffer,
    private readonly position: number,
  ) {}

  #field(slot: number): number {
    return this.bb.__offset(this.position, 4 + 2 * slot);
  }
  has(slot: number): boolean {
    return this.#field(slot) !== 0;
  }
  int8(slot: number, fallback: number): number {
    const at = this.#field(slot);
    return at ? this.bb.readInt8(this.position + at) : fallback;
  }
  int32(slot: number, fallback: number): number {
    const at = this.#field(slot);
    return at ? this.bb.readInt32(this.position + at) : fallback;
  }
  float32(slot: number, fallback: number): number {
    const at = this.#field(slot);
    return at ? this.bb.readFloat32(this.position + at) : fallback;
  }
  string(slot: number): string {
    const at = this.#field(slot);
    return at ? (this.bb.__string(this.position + at) as string) : '';
  }
  table(slot: number): Table | null {
    const at = this.#field(slot);
    return at ? new Table(this.bb, this.bb.__indirect(this.position + at)) : null;
  }
  #vector(slot: number): { start: number; length: number } {
    const at = this.#field(slot);
    if (!at) return { start: 0, length: 0 };
    return { start: this.bb.__vector(this.position + at), length: this.bb.__vector_len(this.position + at) };
  }
  int32s(slot: number): number[] {
    const { start, length } = this.#vector(slot);
    return Array.from({ length }, (_, i) => this.bb.readInt32(start + 4 * i));
  }
  float32s(slot: number): number[] {
    const { start, length } = this.#vector(slot);
    return Array.from({ length }, (_, i) => this.bb.readFloat32(start + 4 * i));
  }
  int64s(slot: number): number[] {
    const { start, length } = this.#vector(slot);
    return Array.from({ length }, (_, i) => Number(this.bb.readInt64(start + 8 * i)));
  }
  /** A copy: the file's bytes may be a Node Buffer, whose slice() is a view sharing (and exposing) the whole file. */
  bytes(slot: number): Uint8Array {
    const { start, length } = this.#vector(slot);
    return new Uint8Array(this.bb.bytes().subarray(start, start + length));
  }
  tables(slot: number): Table[] {
    const { start, length } = this.#vector(slot);
    return Array.from({ length }, (_, i) => new Table(this.bb, this.bb.__indirect(start + 4 * i)));
  }
}

function unreadable(why: string): AtelierError {
  return new AtelierError('export-failed', `Not a TFLite model Atelier can read: ${why}.`);
}

function readOptions(type: number, table: Table | null): BuiltinOptions | null {
  if (type === 0 || !table) return null;
  switch (type) {
    case OptionsType.Conv2DOptions:
      return {
        kind: 'Conv2DOptions',
        padding: table.int8(0, 0) as PaddingValue,
        strideW: table.int32(1, 0),
        strideH: table.int32(2, 0),
        activation: table.int8(3, 0) as ActivationValue,
        dilationW: table.int32(4, 1),
        dilationH: table.int32(5, 1),
      };
    case OptionsType.Pool2DOptions:
      return {
        kind: 'Pool2DOptions',
        padding: table.int8(0, 0) as PaddingValue,
        strideW: table.int32(1, 0),
        strideH: table.int32(2, 0),
        filterWidth: table.int32(3, 0),
        filterHeight: table.int32(4, 0),
        activation: table.int8(5, 0) as ActivationValue,
      };
    case OptionsType.FullyConnectedOptions:
      return { kind: 'FullyConnectedOptions', activation: table.int8(0, 0) as ActivationValue };
    case OptionsType.SoftmaxOptions:
      return { kind: 'SoftmaxOptions', beta: table.float32(0, 0) };
    case OptionsType.ReshapeOptions:
      return { kind: 'ReshapeOptions', newShape: table.int32s(0) };
    default:
      throw unreadable(`an operator has options of union type ${type}, which Atelier does not write`);
  }
}

/** Parse the bytes of a .tflite file (fields outside Atelier's subset are skipped). */
export function decodeTflite(bytes: Uint8Array): TfliteModel {
  const bb = new ByteBuffer(bytes);
  if (bytes.length < 8 || !bb.__has_identifier(TFLITE_FILE_IDENTIFIER)) throw unreadable(`the file identifier is not ${TFLITE_FILE_IDENTIFIER}`);
  const model = new Table(bb, bb.readInt32(bb.position()) + bb.position());
  const subgraphs = model.tables(2);
  if (subgraphs.length !== 1) throw unreadable(`it has ${subgraphs.length} subgraphs, not one`);
  const graph = subgraphs[0]!;
  return {
    version: model.int32(0, 0),
    description: model.string(3),
    operatorCodes: model.tables(1).map((code) => ({
      builtinCode: Math.max(code.int8(0, 0), code.int32(3, 0)) as BuiltinOperatorValue,
      version: code.int32(2, 1),
    })),
    subgraph: {
      name: graph.string(4),
      tensors: graph.tables(0).map((tensor) => {
        const quantization = tensor.table(4);
        const scale = quantization?.float32s(2) ?? [];
        return {
          name: tensor.string(3),
          shape: tensor.int32s(0),
          type: tensor.int8(1, 0) as TensorTypeValue,
          buffer: tensor.int32(2, 0),
          quantization: quantization && scale.length ? { scale, zeroPoint: quantization.int64s(3), quantizedDimension: quantization.int32(6, 0) } : null,
        };
      }),
      inputs: graph.int32s(1),
      outputs: graph.int32s(2),
      operators: graph.tables(3).map((operator) => ({
        opcodeIndex: operator.int32(0, 0),
        inputs: operator.int32s(1),
        outputs: operator.int32s(2),
        options: readOptions(operator.int8(3, 0), operator.table(4)),
      })),
    },
    buffers: model.tables(4).map((buffer) => buffer.bytes(0)),
    metadata: model.tables(6).map((entry) => ({ name: entry.string(0), buffer: entry.int32(1, 0) })),
  };
}
