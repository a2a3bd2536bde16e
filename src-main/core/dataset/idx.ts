/**
 * The IDX format (LeCun's MNIST container): two zero bytes, a dtype code, the rank, then
 * `rank` big-endian uint32 dimensions, then the data, big-endian, row-major. Hand-written
 * because it is tiny and sits on the path of untrusted input: every size is checked against
 * the bytes actually present before anything is allocated.
 */
import { AtelierError } from '../errors';

/** IDX dtype codes, from the format's definition. */
export const IDX_DTYPE_CODES = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
} as const;

export type IdxDtype = keyof typeof IDX_DTYPE_CODES;

/** The typed array each dtype parses into. */
export interface IdxDataByDtype {
  uint8: Uint8Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  float32: Float32Array;
  float64: Float64Array;
}

export type IdxData = IdxDataByDtype[IdxDtype];

/** A parsed IDX array; `data.length` is the product of `shape`. */
export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxData;
}

const ITEM_SIZE: Record<IdxDtype, number> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 };

const DTYPE_BY_CODE = new Map<number, IdxDtype>(
  (Object.entries(IDX_DTYPE_CODES) as [IdxDtype, number][]).map(([dtype, code]) => [code, dtype]),
);

/** Ranks above this are not images, labels or anything else this app reads. */
export const MAX_IDX_RANK = 16;

/** Default cap on elements: Fashion-MNIST's largest file holds 47,040,000; leaves room, refuses absurd headers. */
export const DEFAULT_MAX_IDX_ELEMENTS = 2 ** 30;

/** A malformed IDX file. Kind `idx-malformed`; the message names the file and the defect. */
export class IdxError extends AtelierError {
  constructor(message: string) {
    super('idx-malformed', message);
    this.name = 'IdxError';
  }
}

export interface ParseIdxOptions {
  /** Name used in error messages, e.g. `train-images-idx3-ubyte`. */
  name?: string;
  /** Refuse headers that declare more elements than this. */
  maxElements?: number;
}

/**
 * Parse IDX bytes. For uint8 and int8 `data` is a view on `bytes` (no copy), so keep `bytes`
 * alive and unmodified; wider dtypes are byte-swapped into a new array. Throws `IdxError` for
 * anything malformed, and nothing else.
 */
export function parseIdx(bytes: Uint8Array, options: ParseIdxOptions = {}): IdxArray {
  const name = options.name ?? 'IDX data';
  const maxElements = options.maxElements ?? DEFAULT_MAX_IDX_ELEMENTS;
  const fail = (what: string): never => {
    throw new IdxError(`${name}: ${what} — the file is damaged or not an IDX file; delete it or choose another folder`);
  };

  if (bytes.length < 4) fail(`only ${bytes.length} bytes, too short for an IDX header (4 bytes at least)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (it looks gzip-compressed: decompress it first)' : '';
    fail(`starts with bytes ${hex(bytes[0])} ${hex(bytes[1])} instead of 0x00 0x00${gz}`);
  }
  const code = bytes[2] as number;
  const dtype = DTYPE_BY_CODE.get(code) ?? fail(`unknown IDX dtype code ${hex(code)}`);
  const rank = bytes[3] as number;
  if (rank === 0) fail('declares rank 0 (no dimensions)');
  if (rank > MAX_IDX_RANK) fail(`declares rank ${rank}, more than the ${MAX_IDX_RANK} this app accepts`);

  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) fail(`header needs ${headerBytes} bytes for ${rank} dimensions, the file has ${bytes.length}`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const itemSize = ITEM_SIZE[dtype];
  const shape: number[] = [];
  let elements = 1;
  for (let i = 0; i < rank; i++) {
    const dim = view.getUint32(4 + 4 * i, false);
    shape.push(dim);
    // Doubles stay exact well past the cap, and the check runs before each next multiply,
    // so a chain of huge dimensions cannot overflow into a small-looking product.
    elements *= dim;
    if (elements > maxElements) fail(`shape [${shape.join(', ')}${i < rank - 1 ? ', …' : ''}] exceeds the limit of ${maxElements.toLocaleString('en-US')} elements`);
  }
  const dataBytes = bytes.length - headerBytes;
  const expectedBytes = elements * itemSize;
  if (dataBytes !== expectedBytes) {
    fail(
      `header says ${dtype} [${shape.join(', ')}], which needs ${expectedBytes.toLocaleString('en-US')} bytes of data, ` +
        `but ${dataBytes.toLocaleString('en-US')} follow the header${dataBytes < expectedBytes ? ' (truncated?)' : ''}`,
    );
  }

  const start = bytes.byteOffset + headerBytes;
  return { dtype, shape, data: readData(dtype, bytes.buffer, start, elements, view, headerBytes) };
}

function readData(dtype: IdxDtype, buffer: ArrayBufferLike, start: number, n: number, view: DataView, headerBytes: number): IdxData {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(buffer, start, n);
    case 'int8':
      return new Int8Array(buffer, start, n);
    case 'int16': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(headerBytes + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(headerBytes + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(headerBytes + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(headerBytes + 8 * i, false);
      return out;
    }
  }
}

const ARRAY_TYPE: Record<IdxDtype, abstract new (...args: never[]) => IdxData> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/**
 * Encode an array as IDX bytes (for tests, fixtures and round trips). Throws `IdxError` if the
 * shape and data disagree or cannot be expressed in IDX.
 */
export function encodeIdx(array: IdxArray): Uint8Array {
  const { dtype, shape, data } = array;
  const code = IDX_DTYPE_CODES[dtype];
  if (code === undefined) throw new IdxError(`cannot encode unknown dtype ${String(dtype)}`);
  if (!(data instanceof ARRAY_TYPE[dtype])) throw new IdxError(`dtype ${dtype} needs a ${ARRAY_TYPE[dtype].name}, got ${data.constructor.name}`);
  if (shape.length === 0 || shape.length > MAX_IDX_RANK) throw new IdxError(`cannot encode rank ${shape.length} (1 to ${MAX_IDX_RANK})`);
  let elements = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0 || dim > 0xffff_ffff) throw new IdxError(`cannot encode dimension ${dim}`);
    elements *= dim;
  }
  if (elements !== data.length) throw new IdxError(`shape [${shape.join(', ')}] holds ${elements} elements, data has ${data.length}`);

  const headerBytes = 4 + 4 * shape.length;
  const itemSize = ITEM_SIZE[dtype];
  const out = new Uint8Array(headerBytes + elements * itemSize);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((dim, i) => view.setUint32(4 + 4 * i, dim, false));
  switch (dtype) {
    case 'uint8':
    case 'int8':
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), headerBytes);
      break;
    case 'int16':
      for (let i = 0; i < elements; i++) view.setInt16(headerBytes + 2 * i, data[i] as number, false);
      break;
    case 'int32':
      for (let i = 0; i < elements; i++) view.setInt32(headerBytes + 4 * i, data[i] as number, false);
      break;
    case 'float32':
      for (let i = 0; i < elements; i++) view.setFloat32(headerBytes + 4 * i, data[i] as number, false);
      break;
    case 'float64':
      for (let i = 0; i < elements; i++) view.setFloat64(headerBytes + 8 * i, data[i] as number, false);
      break;
  }
  return out;
}

function hex(byte: number | undefined): string {
  return `0x${(byte ?? 0).toString(16).padStart(2, '0')}`;
}
