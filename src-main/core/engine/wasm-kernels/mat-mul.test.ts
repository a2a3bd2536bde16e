import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseTransposePlan } from './mat-mul.js';
import { expectSameOnBothBackends, gridTensor, liveCounts, setUpBackends, tf } from './kernel-test-helpers.js';

beforeAll(setUpBackends);

const dim = fc.integer({ min: 1, max: 37 });
const flags = fc.record({ transposeA: fc.boolean(), transposeB: fc.boolean() });

function operands(m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, seed: number, batch: number[] = []) {
  const a = gridTensor([...batch, ...(transposeA ? [k, m] : [m, k])], seed);
  const b = gridTensor([...batch, ...(transposeB ? [n, k] : [k, n])], seed + 1);
  return { a, b };
}

describe('BatchMatMul on wasm', () => {
  it('equals the cpu backend for every transpose combination, random shapes, batch 1 and odd sizes', async () => {
    await fc.assert(
      fc.asyncProperty(dim, dim, dim, flags, fc.nat(1e6), async (m, k, n, { transposeA, transposeB }, seed) => {
        await expectSameOnBothBackends(() => {
          const { a, b } = operands(m, k, n, transposeA, transposeB, seed);
          return tf.matMul(a, b, transposeA, transposeB);
        }, `matMul ${m}×${k}×${n} tA=${transposeA} tB=${transposeB}`);
      }),
      { numRuns: 40 },
    );
  });

  it('handles the shapes of Dense layers training at batch 32 (both plans are taken)', async () => {
    // [784,32]ᵀ·[32,128] (dW) takes the operand plan, [32,128]·[784,128]ᵀ (dx) the output plan.
    expect(chooseTransposePlan(784, 32, 128, true, false)).toBe('inputs');
    expect(chooseTransposePlan(32, 128, 784, false, true)).toBe('output');
    for (const [m, k, n, tA, tB] of [
      [784, 32, 128, true, false],
      [32, 128, 784, false, true],
      [128, 32, 10, true, false],
      [32, 10, 128, false, true],
    ] as const) {
      await expectSameOnBothBackends(() => {
        const { a, b } = operands(m, k, n, tA, tB, m + k + n);
        return tf.matMul(a, b, tA, tB);
      }, `matMul ${m}×${k}×${n} tA=${tA} tB=${tB}`);
    }
  });

  it('computes a fresh large right-hand operand as (bᵀ·aᵀ)ᵀ and a reused one with the stock kernel, both right', async () => {
    // [32,784]·[784,128] is the Dense forward product: the first use of a weight tensor takes the
    // transposed route (no XNNPACK packing), later uses the stock kernel (packed once, cached).
    expect(chooseTransposePlan(32, 784, 128, false, false)).toBe('output');
    expect(chooseTransposePlan(32, 128, 10, false, false)).toBe('inputs');
    await expectSameOnBothBackends(() => {
      const a = gridTensor([32, 784], 1);
      const w = gridTensor([784, 128], 2);
      return [tf.matMul(a, w), tf.matMul(a, w), tf.matMul(gridTensor([32, 784], 3), w)];
    }, 'Dense forward product, fresh then reused weights');
  });

  it('equals the cpu backend for batched operands, with and without broadcasting', async () => {
    await fc.assert(
      fc.asyncProperty(dim, dim, dim, flags, fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.nat(1e6), async (m, k, n, f, batch, broadcast, seed) => {
        await expectSameOnBothBackends(() => {
          const a = gridTensor([batch, ...(f.transposeA ? [k, m] : [m, k])], seed);
          const b = gridTensor([...(broadcast ? [1] : [batch]), ...(f.transposeB ? [n, k] : [k, n])], seed + 1);
          return tf.matMul(a, b, f.transposeA, f.transposeB);
        }, `batched matMul ${batch}×${m}×${k}×${n} ${JSON.stringify(f)} broadcast=${broadcast}`);
      }),
      { numRuns: 20 },
    );
  });
});

describe('_FusedMatMul on wasm', () => {
  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;

  it('equals the cpu backend with every transpose combination, bias and activation', async () => {
    await fc.assert(
      fc.asyncProperty(
        dim,
        dim,
        dim,
        flags,
        fc.boolean(),
        fc.constantFrom(...activations),
        fc.nat(1e6),
        async (m, k, n, { transposeA, transposeB }, withBias, activation, seed) => {
          await expectSameOnBothBackends(() => {
            // The fused op takes rank-3 operands (the public op reshapes to them).
            const { a, b } = operands(m, k, n, transposeA, transposeB, seed, [1]);
            return tf.fused.matMul({
              a: a as tf.Tensor3D,
              b: b as tf.Tensor3D,
              transposeA,
              transposeB,
              bias: withBias ? gridTensor([n], seed + 2) : undefined,
              activation,
              preluActivationWeights: activation === 'prelu' ? gridTensor([n], seed + 3) : undefined,
              leakyreluAlpha: activation === 'leakyrelu' ? 0.25 : undefined,
            });
          }, `fused matMul ${m}×${k}×${n} tA=${transposeA} tB=${transposeB} bias=${withBias} ${activation}`);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('matMul kernels and memory', () => {
  it('leave no tensor and no wasm buffer behind, whatever the plan', () => {
    const a = gridTensor([33, 17], 1);
    const b = gridTensor([17, 29], 2);
    const bt = gridTensor([29, 17], 3);
    const at = gridTensor([17, 33], 4);
    const bias = gridTensor([29], 5);
    const before = liveCounts();
    for (let i = 0; i < 50; i++) {
      tf.tidy(() => {
        tf.matMul(at, b, true, false);
        tf.matMul(a, bt, false, true);
        tf.matMul(at, bt, true, true);
        tf.matMul(gridTensor([32, 128], 6), gridTensor([784, 128], 7), false, true);
        tf.fused.matMul({ a: at.reshape([1, 17, 33]) as tf.Tensor3D, b: bt.reshape([1, 29, 17]) as tf.Tensor3D, transposeA: true, transposeB: true, bias, activation: 'relu' });
        tf.fused.matMul({ a: at.reshape([1, 17, 33]) as tf.Tensor3D, b: bt.reshape([1, 29, 17]) as tf.Tensor3D, transposeA: true, transposeB: true, activation: 'relu' });
      });
    }
    expect(liveCounts()).toEqual(before);
    tf.dispose([a, b, bt, at, bias]);
  });
});
