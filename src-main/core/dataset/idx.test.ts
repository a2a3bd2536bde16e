import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtelierError } from '../errors';
import { DEFAULT_MAX_IDX_ELEMENTS, IDX_DTYPE_CODES, IdxError, MAX_IDX_RANK, encodeIdx, parseIdx, type IdxArray, type IdxDtype } from './idx';

function header(code: number, dims: number[]): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * dims.length);
  bytes[2] = code;
  bytes[3] = dims.length;
  dims.forEach((d, i) => new DataView(bytes.buffer).setUint32(4 + 4 * i, d, false));
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function expectIdxError(bytes: Uint8Array, pattern: RegExp, options = {}): void {
  let thrown: unknown;
  try {
    parseIdx(bytes, { name: 'sample-idx', ...options });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(IdxError);
  expect(thrown).toBeInstanceOf(AtelierError);
  expect((thrown as IdxError).kind).toBe('idx-malformed');
  expect((thrown as Error).message).toMatch(/^sample-idx: /);
  expect((thrown as Error).message).toMatch(pattern);
}

describe('parseIdx', () => {
  it('reads a uint8 rank-3 array as a view on the input, without copying', () => {
    const bytes = concat(new Uint8Array([9, 9, 9]), header(0x08, [2, 2, 3]), Uint8Array.from({ length: 12 }, (_, i) => i * 10));
    const input = bytes.subarray(3); // a non-zero byteOffset, as a Buffer from a pool would have
    const parsed = parseIdx(input);
    expect(parsed.dtype).toBe('uint8');
    expect(parsed.shape).toEqual([2, 2, 3]);
    expect(Array.from(parsed.data)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
    expect(parsed.data.buffer).toBe(bytes.buffer);
    expect(parsed.data.byteOffset).toBe(3 + 16);
  });

  it('reads wider dtypes big-endian', () => {
    const int32 = parseIdx(concat(header(0x0c, [2]), new Uint8Array([0x00, 0x00, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe])));
    expect(Array.from(int32.data)).toEqual([258, -2]);
    const int16 = parseIdx(concat(header(0x0b, [1]), new Uint8Array([0x80, 0x00])));
    expect(Array.from(int16.data)).toEqual([-32768]);
    const f32 = parseIdx(concat(header(0x0d, [1]), new Uint8Array([0x3f, 0xc0, 0x00, 0x00])));
    expect(Array.from(f32.data)).toEqual([1.5]);
    const f64 = parseIdx(concat(header(0x0e, [1]), new Uint8Array([0xc0, 0x04, 0, 0, 0, 0, 0, 0])));
    expect(Array.from(f64.data)).toEqual([-2.5]);
    const int8 = parseIdx(concat(header(0x09, [2]), new Uint8Array([0xff, 0x7f])));
    expect(Array.from(int8.data)).toEqual([-1, 127]);
  });

  it('accepts a zero-length dimension', () => {
    const parsed = parseIdx(header(0x08, [0, 28, 28]));
    expect(parsed.shape).toEqual([0, 28, 28]);
    expect(parsed.data.length).toBe(0);
  });

  it('rejects input too short for a header', () => {
    expectIdxError(new Uint8Array([0, 0, 8]), /only 3 bytes/);
    expectIdxError(new Uint8Array([]), /only 0 bytes/);
  });

  it('rejects a wrong magic, and says so when the bytes are still gzip', () => {
    expectIdxError(new Uint8Array([0, 1, 8, 1, 0, 0, 0, 0]), /0x00 0x01 instead of 0x00 0x00/);
    expectIdxError(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), /gzip-compressed/);
  });

  it('rejects an unknown dtype code', () => {
    expectIdxError(concat(header(0x0a, [1]), new Uint8Array([1])), /unknown IDX dtype code 0x0a/);
  });

  it('rejects rank 0 and absurd ranks', () => {
    expectIdxError(new Uint8Array([0, 0, 8, 0, 5]), /rank 0/);
    const big = header(0x08, new Array<number>(MAX_IDX_RANK + 1).fill(1));
    expectIdxError(concat(big, new Uint8Array([7])), new RegExp(`rank ${MAX_IDX_RANK + 1}`));
    // rank within limits but the header itself is cut short
    expectIdxError(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1]), /header needs 16 bytes/);
  });

  it('rejects sizes that disagree with the byte count, both ways', () => {
    expectIdxError(concat(header(0x08, [2, 3]), new Uint8Array(5)), /needs 6 bytes of data, but 5 follow.*truncated/);
    expectIdxError(concat(header(0x08, [2, 3]), new Uint8Array(7)), /needs 6 bytes of data, but 7 follow/);
    expectIdxError(concat(header(0x0c, [2]), new Uint8Array(4)), /int32 \[2\], which needs 8 bytes/);
  });

  it('rejects shapes whose product overflows or exceeds the cap, before allocating anything', () => {
    expectIdxError(header(0x08, [0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff]), /exceeds the limit/);
    expectIdxError(header(0x0e, [65_536, 65_536]), /exceeds the limit/);
    expectIdxError(concat(header(0x08, [10, 10]), new Uint8Array(100)), /exceeds the limit of 99 elements/, { maxElements: 99 });
    expect(DEFAULT_MAX_IDX_ELEMENTS).toBeGreaterThan(47_040_000);
  });
});

describe('encodeIdx', () => {
  it('writes the header the parser expects', () => {
    const bytes = encodeIdx({ dtype: 'uint8', shape: [1, 2], data: new Uint8Array([5, 6]) });
    expect(Array.from(bytes)).toEqual([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2, 5, 6]);
  });

  it('refuses a shape that disagrees with the data, or a data type that disagrees with the dtype', () => {
    expect(() => encodeIdx({ dtype: 'uint8', shape: [3], data: new Uint8Array(2) })).toThrow(IdxError);
    expect(() => encodeIdx({ dtype: 'int16', shape: [2], data: new Uint8Array(2) })).toThrow(/Int16Array/);
    expect(() => encodeIdx({ dtype: 'uint8', shape: [], data: new Uint8Array(0) })).toThrow(/rank 0/);
    expect(() => encodeIdx({ dtype: 'uint8', shape: [1.5], data: new Uint8Array(1) })).toThrow(/dimension 1.5/);
  });
});

const DTYPES = Object.keys(IDX_DTYPE_CODES) as IdxDtype[];

function valuesFor(dtype: IdxDtype, n: number): fc.Arbitrary<IdxArray['data']> {
  const len = { minLength: n, maxLength: n };
  switch (dtype) {
    case 'uint8':
      return fc.uint8Array(len);
    case 'int8':
      return fc.int8Array(len);
    case 'int16':
      return fc.int16Array(len);
    case 'int32':
      return fc.int32Array(len);
    case 'float32':
      return fc.float32Array(len);
    case 'float64':
      return fc.float64Array(len);
  }
}

const idxArray: fc.Arbitrary<IdxArray> = fc
  .record({ dtype: fc.constantFrom(...DTYPES), shape: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }) })
  .chain(({ dtype, shape }) => valuesFor(dtype, shape.reduce((a, b) => a * b, 1)).map((data) => ({ dtype, shape, data })));

/** Either a well-formed array or an IdxError: nothing else may escape the parser. */
function parseOrIdxError(bytes: Uint8Array): IdxArray | IdxError {
  try {
    const parsed = parseIdx(bytes);
    expect(parsed.data.length).toBe(parsed.shape.reduce((a, b) => a * b, 1));
    return parsed;
  } catch (error) {
    if (error instanceof IdxError) return error;
    throw error;
  }
}

describe('IDX properties', () => {
  it('round-trips generated arrays of every dtype through encode and parse', () => {
    fc.assert(
      fc.property(idxArray, (array) => {
        const parsed = parseIdx(encodeIdx(array));
        expect(parsed.dtype).toBe(array.dtype);
        expect(parsed.shape).toEqual(array.shape);
        expect(parsed.data.constructor).toBe(array.data.constructor);
        // Object.is: -0 and NaN must come back as they went in
        Array.from(array.data).forEach((value, i) => expect(Object.is(parsed.data[i], value)).toBe(true));
      }),
      { numRuns: 1_000 },
    );
  });

  it('turns arbitrary bytes into a value or an IdxError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        parseOrIdxError(bytes);
      }),
      { numRuns: 2_000 },
    );
  });

  it('turns mutated valid files into a value or an IdxError, and a value re-encodes to the same bytes', () => {
    const mutation = fc.oneof(
      fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }).map((m) => ({ kind: 'set' as const, ...m })),
      fc.nat().map((keep) => ({ kind: 'truncate' as const, keep })),
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map((extra) => ({ kind: 'append' as const, extra })),
    );
    fc.assert(
      fc.property(idxArray, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (array, mutations, headerOnly) => {
        let bytes = encodeIdx(array);
        const headerLength = 4 + 4 * array.shape.length;
        for (const m of mutations) {
          if (m.kind === 'set' && bytes.length > 0) bytes[m.at % (headerOnly ? Math.min(headerLength, bytes.length) : bytes.length)] = m.value;
          if (m.kind === 'truncate') bytes = bytes.slice(0, m.keep % (bytes.length + 1));
          if (m.kind === 'append') bytes = concat(bytes, m.extra);
        }
        const result = parseOrIdxError(bytes);
        if (!(result instanceof IdxError) && (result.dtype === 'uint8' || result.dtype === 'int8' || result.dtype === 'int16' || result.dtype === 'int32')) {
          expect(Array.from(encodeIdx(result))).toEqual(Array.from(bytes));
        }
      }),
      { numRuns: 1_500 },
    );
  });
});
