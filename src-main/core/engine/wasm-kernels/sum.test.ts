import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectSameOnBothBackends, KERNEL_BUILDS, liveCounts, setUpBackends, tf, uniformTensor, useKernelBuild } from './kernel-test-helpers.js';

beforeAll(setUpBackends);

describe.each(KERNEL_BUILDS)('Sum over all axes but the last, on wasm ($label)', ({ simd }) => {
  useKernelBuild(simd);

  it('equals the cpu backend bit for bit (shapes, axis forms, keepDims)', async () => {
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
            () => tf.sum(uniformTensor(shape, seed), rank === 2 ? axes[0]! : axes, keepDims),
            `sum ${shape} over ${axes} keepDims=${keepDims}`,
            0,
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('sums a CNN bias gradient ([32,26,26,32] over 0,1,2) bit for bit', async () => {
    await expectSameOnBothBackends(() => tf.sum(uniformTensor([32, 26, 26, 32], 5), [0, 1, 2]), 'conv bias gradient', 0);
  });
});

describe('Sum on wasm, other reductions', () => {
  it('still go to the stock kernel and agree with cpu', async () => {
    for (const [shape, axis] of [
      [[4, 5, 6], [1]],
      [[4, 5, 6], [0, 2]],
      [[4, 5, 6], undefined],
      [[7], 0],
    ] as const) {
      await expectSameOnBothBackends(() => tf.sum(uniformTensor([...shape], 3), axis as number[] | number | undefined), `sum ${shape} over ${axis}`);
    }
  });

  it('leaves no tensor and no wasm buffer behind', () => {
    const x = uniformTensor([6, 5, 8], 1);
    const before = liveCounts();
    for (let i = 0; i < 50; i++) {
      tf.tidy(() => {
        tf.sum(x, [0, 1]);
        tf.sum(x.slice([0, 0, 0], [6, 5, 7]), [0, 1], true);
      });
    }
    expect(liveCounts()).toEqual(before);
    x.dispose();
  });
});
