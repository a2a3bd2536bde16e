import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectSameOnBothBackends, gridTensor, liveCounts, seededRandom, setUpBackends, tf } from './kernel-test-helpers.js';

beforeAll(setUpBackends);

const shape = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 });

function typed(t: tf.Tensor, dtype: 'float32' | 'int32' | 'bool'): tf.Tensor {
  if (dtype === 'float32') return t;
  return dtype === 'int32' ? tf.cast(tf.mul(t, 8), 'int32') : tf.greater(t, 0);
}

describe('Slice on wasm', () => {
  it('equals the cpu backend for random boxes of random shapes and dtypes', async () => {
    await fc.assert(
      fc.asyncProperty(shape, fc.nat(1e6), fc.constantFrom('float32', 'int32', 'bool') as fc.Arbitrary<'float32' | 'int32' | 'bool'>, async (s, seed, dtype) => {
        const next = seededRandom(seed);
        const begin = s.map((d) => Math.floor(next() * d));
        // −1 (to the end) now and then, as tfjs allows.
        const size = s.map((d, i) => (next() < 0.2 ? -1 : 1 + Math.floor(next() * (d - begin[i]!))));
        await expectSameOnBothBackends(() => tf.slice(typed(gridTensor(s, seed), dtype), begin, size), `slice ${dtype} ${s} begin ${begin} size ${size}`);
      }),
      { numRuns: 100 },
    );
  });

  it('takes a batch out of a large data set without copying the data set (values checked)', async () => {
    await expectSameOnBothBackends(() => tf.slice(gridTensor([2000, 28, 28], 3), [1234, 0, 0], [32, 28, 28]), 'batch slice');
  });
});

describe('GatherV2 on wasm', () => {
  it('equals the cpu backend for random axes, indices (repeated too) and batch dims', async () => {
    await fc.assert(
      fc.asyncProperty(shape, fc.nat(1e6), fc.constantFrom('float32', 'int32', 'bool') as fc.Arbitrary<'float32' | 'int32' | 'bool'>, async (s, seed, dtype) => {
        const next = seededRandom(seed);
        const axis = Math.floor(next() * s.length);
        const batchDims = Math.floor(next() * (axis + 1));
        const indexShape = [...s.slice(0, batchDims), 1 + Math.floor(next() * 5)];
        const count = indexShape.reduce((a, b) => a * b, 1);
        const indices = Array.from({ length: count }, () => Math.floor(next() * s[axis]!));
        await expectSameOnBothBackends(
          () => tf.gather(typed(gridTensor(s, seed), dtype), tf.tensor(indices, indexShape, 'int32'), axis, batchDims),
          `gather ${dtype} ${s} axis ${axis} batchDims ${batchDims} indices ${indices}`,
        );
      }),
      { numRuns: 100 },
    );
  });

  it('rejects an index out of range, like the stock kernel', () => {
    const x = gridTensor([4, 3], 1);
    const bad = tf.tensor1d([1, 4], 'int32');
    const before = liveCounts();
    expect(() => tf.gather(x, bad)).toThrow(/index value 4 is not in \[0, 3\]/);
    expect(liveCounts()).toEqual(before);
    tf.dispose([x, bad]);
  });
});

describe('Identity and Cast on wasm (same dtype: shared data)', () => {
  it('give the same values, survive the original being disposed, and free the data with the last user', () => {
    const before = liveCounts();
    const x = gridTensor([5, 7], 1);
    const expected = Array.from(x.dataSync());
    const copy = tf.clone(x);
    const cast = tf.cast(x, 'float32');
    const ints = tf.cast(x, 'int32');
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual(expected);
    expect(Array.from(cast.dataSync())).toEqual(expected);
    expect(Array.from(ints.dataSync())).toEqual(expected.map((v) => Math.trunc(v) | 0));
    const numbers = tf.tensor1d([0, 2, -1, 0.5, NaN, -0]);
    const bool = tf.cast(numbers, 'bool');
    expect(Array.from(tf.tidy(() => tf.cast(bool, 'bool').dataSync()))).toEqual([0, 1, 1, 1, 1, 0]);
    expect(Array.from(tf.tidy(() => tf.cast(tf.tensor1d([0, 256, -1], 'int32'), 'bool').dataSync()))).toEqual([0, 1, 1]);
    tf.dispose([copy, cast, ints, numbers, bool]);
    expect(liveCounts()).toEqual(before);
  });
});

describe('Slice and GatherV2 and memory', () => {
  it('leave no tensor and no wasm buffer behind', () => {
    const x = gridTensor([50, 7, 5], 1);
    const idx = tf.tensor1d([3, 1, 49, 3], 'int32');
    const before = liveCounts();
    for (let i = 0; i < 100; i++) {
      tf.tidy(() => {
        tf.slice(x, [i % 40, 1, 0], [10, 5, 5]);
        tf.gather(x, idx);
        tf.gather(x, tf.tensor1d([4, 0], 'int32'), 2);
      });
    }
    expect(liveCounts()).toEqual(before);
    tf.dispose([x, idx]);
  });
});
