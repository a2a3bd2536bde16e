import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectSameOnBothBackends,
  KERNEL_BUILDS,
  liveCounts,
  seededRandom,
  setUpBackends,
  tf,
  uniformTensor,
  useKernelBuild,
} from './kernel-test-helpers.js';

beforeAll(setUpBackends);

const shapeArb = fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 });

describe('Tile on wasm', () => {
  it('equals the cpu backend bit for bit (ranks 1–4, reps 1–4, float32, int32, bool)', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb,
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }),
        fc.constantFrom('float32', 'int32', 'bool'),
        fc.nat(1e6),
        async (shape, allReps, dtype, seed) => {
          const reps = allReps.slice(0, shape.length);
          await expectSameOnBothBackends(() => {
            const x = uniformTensor(shape, seed);
            const typed = dtype === 'float32' ? x : dtype === 'int32' ? x.mul(100).cast('int32') : x.greater(0);
            return tf.tile(typed, reps).cast('float32');
          }, `tile ${shape} by ${reps} (${dtype})`, 0);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('tiles a per-channel vector over a batch (the FusedBatchNorm gradient: [1,1,1,32] → [N,26,26,32]) bit for bit', async () => {
    for (const n of [1, 3, 64]) {
      await expectSameOnBothBackends(() => tf.tile(uniformTensor([1, 1, 1, 32], n), [n, 26, 26, 1]), `tile to batch ${n}`, 0);
    }
    await expectSameOnBothBackends(() => tf.tile(uniformTensor([5, 1, 3], 2), [1, 9, 1]), 'tile a middle axis', 0);
    await expectSameOnBothBackends(() => tf.tile(uniformTensor([2, 3], 4), [1, 1]), 'tile once', 0);
  });
});

describe.each(KERNEL_BUILDS)('Mean over all axes but the last, on wasm ($label)', ({ simd }) => {
  useKernelBuild(simd);

  it('equals the cpu backend to 1e-5 (shapes, axis forms, keepDims)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        fc.boolean(),
        fc.nat(1e6),
        async (outer, cols, negative, keepDims, seed) => {
          const shape = [...outer, cols];
          const rank = shape.length;
          const axes = outer.map((_, i) => (negative ? i - rank : i));
          await expectSameOnBothBackends(
            () => tf.mean(uniformTensor(shape, seed).add(3), rank === 2 ? axes[0]! : axes, keepDims),
            `mean ${shape} over ${axes} keepDims=${keepDims}`,
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives tf.moments of a conv activation ([32,26,26,32] over 0,1,2)', async () => {
    await expectSameOnBothBackends(() => {
      const { mean, variance } = tf.moments(uniformTensor([32, 26, 26, 32], 5), [0, 1, 2]);
      return [mean, variance];
    }, 'moments');
  });

  it('leaves other means to the stock kernel', async () => {
    for (const [shape, axis] of [
      [[4, 5, 6], [1]],
      [[4, 5, 6], [0, 2]],
      [[4, 5, 6], undefined],
      [[7], 0],
    ] as const) {
      await expectSameOnBothBackends(() => tf.mean(uniformTensor([...shape], 3), axis as number[] | number | undefined), `mean ${shape} over ${axis}`);
    }
  });
});

describe('per-channel Multiply, Sub, Add on wasm', () => {
  it('equal the cpu backend bit for bit, per-channel operand on either side, [C] or [1,…,1,C]', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb.filter((s) => s.length >= 2),
        fc.constantFrom('mul', 'sub', 'add'),
        fc.boolean(),
        fc.boolean(),
        fc.nat(1e6),
        async (shape, op, channelsFirst, keepRank, seed) => {
          const c = shape[shape.length - 1]!;
          const small = keepRank ? [...shape.slice(0, -1).map(() => 1), c] : [c];
          await expectSameOnBothBackends(() => {
            const full = uniformTensor(shape, seed);
            const ch = uniformTensor(small, seed + 1);
            const [a, b] = channelsFirst ? [ch, full] : [full, ch];
            return op === 'mul' ? tf.mul(a, b) : op === 'sub' ? tf.sub(a, b) : tf.add(a, b);
          }, `${op} ${channelsFirst ? `${small} and ${shape}` : `${shape} and ${small}`}`, 0);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('leave other shapes and dtypes to the stock kernels', async () => {
    await expectSameOnBothBackends(() => tf.mul(uniformTensor([4, 5, 6], 1), uniformTensor([5, 1], 2)), 'mul [4,5,6] [5,1]', 0);
    await expectSameOnBothBackends(() => tf.sub(uniformTensor([4, 5, 6], 1), uniformTensor([4, 5, 6], 2)), 'sub equal shapes', 0);
    await expectSameOnBothBackends(() => tf.add(tf.tensor([[1, 2], [3, 4]], undefined, 'int32'), tf.tensor([5, 6], undefined, 'int32')), 'add int32', 0);
    await expectSameOnBothBackends(() => tf.mul(uniformTensor([6], 1), uniformTensor([6], 2)), 'mul rank 1', 0);
  });
});

describe('FusedBatchNorm on wasm', () => {
  it('equals the cpu backend to 1e-5 (per-channel statistics, with and without scale and offset)', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb.filter((s) => s.length >= 2),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.nat(1e6),
        async (shape, withScale, withOffset, keepRank, seed) => {
          const c = shape[shape.length - 1]!;
          const small = keepRank ? [...shape.slice(0, -1).map(() => 1), c] : [c];
          await expectSameOnBothBackends(() => {
            const x = uniformTensor(shape, seed).mul(4);
            const mean = uniformTensor(small, seed + 1);
            const variance = uniformTensor(small, seed + 2).add(1.5);
            const scale = withScale ? uniformTensor(small, seed + 3).mul(2) : undefined;
            const offset = withOffset ? uniformTensor(small, seed + 4) : undefined;
            return tf.batchNorm(x, mean, variance, offset, scale, 1e-3);
          }, `batchNorm ${shape} scale=${withScale} offset=${withOffset}`);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe.each(KERNEL_BUILDS)('a BatchNormalization layer in training, on wasm ($label)', ({ simd }) => {
  useKernelBuild(simd);

  it('gives the cpu backend’s output and gradients (conv → BN → ReLU, batch 1 and 5, odd sizes)', async () => {
    for (const [batch, size, channels] of [
      [1, 7, 3],
      [5, 9, 8],
    ] as const) {
      await expectSameOnBothBackends(() => {
        const x = uniformTensor([batch, size, size, 2], batch);
        const kernel = uniformTensor([3, 3, 2, channels], 7);
        const gamma = uniformTensor([channels], 8).add(1.2);
        const beta = uniformTensor([channels], 9);
        const weights = uniformTensor([batch, size - 2, size - 2, channels], 10);
        const f = (k: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const y = tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'valid');
          const { mean, variance } = tf.moments(y, [0, 1, 2]);
          return tf.relu(tf.batchNorm(y, mean, variance, b, g, 1e-3)).mul(weights).sum();
        };
        const { value, grads } = tf.valueAndGrads(f as (...args: tf.Tensor[]) => tf.Scalar)([kernel, gamma, beta]);
        return [value, ...grads];
      }, `batch ${batch}, ${size}x${size}x${channels}`);
    }
  });
});

describe('batch-norm kernels on wasm, memory', () => {
  it('leave no tensor and no wasm buffer behind', () => {
    const next = seededRandom(3);
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 5 * 5 * 4 }, next), [2, 5, 5, 4]);
    const g = tf.variable(tf.ones([4]));
    const before = liveCounts();
    for (let i = 0; i < 30; i++) {
      tf.tidy(() => {
        tf.tile(x, [1, 2, 1, 3]);
        tf.mean(x, [0, 1, 2], true);
        tf.sub(x, x.slice([0, 0, 0, 0], [1, 1, 1, 4]));
        tf.grads((a: tf.Tensor, gamma: tf.Tensor) => {
          const { mean, variance } = tf.moments(a, [0, 1, 2]);
          return tf.batchNorm(a, mean, variance, gamma.mul(0.5), gamma).square().sum();
        })([x, g]);
      });
    }
    expect(liveCounts()).toEqual(before);
    tf.dispose([x, g]);
  });
});
