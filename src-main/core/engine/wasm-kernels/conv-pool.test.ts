import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SIMD_KERNELS_SHARED_WASM, SIMD_KERNELS_WASM } from './simd-kernels.js';
import { expectSameOnBothBackends, gridTensor, KERNEL_BUILDS, liveCounts, setUpBackends, tf, useKernelBuild } from './kernel-test-helpers.js';

beforeAll(setUpBackends);

type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strides: [number, number];
  pad: Pad;
  seed: number;
}

const padding: fc.Arbitrary<Pad> = fc.oneof(
  fc.constant('valid' as const),
  fc.constant('same' as const),
  fc.integer({ min: 0, max: 2 }),
  fc
    .tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3))
    .map(([t, b, l, r]) => [[0, 0], [t, b], [l, r], [0, 0]] as [[0, 0], [number, number], [number, number], [0, 0]]),
);

const convCase: fc.Arbitrary<ConvCase> = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  inHeight: fc.integer({ min: 1, max: 12 }),
  inWidth: fc.integer({ min: 1, max: 12 }),
  inChannels: fc.integer({ min: 1, max: 9 }),
  outChannels: fc.integer({ min: 1, max: 7 }),
  filterHeight: fc.integer({ min: 1, max: 4 }),
  filterWidth: fc.integer({ min: 1, max: 4 }),
  strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  pad: padding,
  seed: fc.nat(1e6),
});

function outShape(c: ConvCase): number[] | null {
  const info = tf.backend_util.computeConv2DInfo(
    [c.batch, c.inHeight, c.inWidth, c.inChannels],
    [c.filterHeight, c.filterWidth, c.inChannels, c.outChannels],
    c.strides,
    1,
    c.pad,
    typeof c.pad === 'number' ? 'floor' : undefined,
  );
  return info.outHeight > 0 && info.outWidth > 0 ? info.outShape : null;
}

function convAttrs(c: ConvCase) {
  return { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: typeof c.pad === 'number' ? 'floor' : undefined };
}

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: object): tf.Tensor =>
  tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor;

// With the SIMD build, gradients up to 4,096 floats take the direct kernel (convFilterGradientSmall),
// larger ones and the JavaScript build the im2col + product paths.
describe.each(KERNEL_BUILDS)('Conv2DBackpropFilter on wasm, missing from tfjs-backend-wasm 4.22 ($label)', ({ simd }) => {
  useKernelBuild(simd);

  it('equals the cpu backend over random shapes, strides and paddings', async () => {
    await fc.assert(
      fc.asyncProperty(convCase, async (c) => {
        const dyShape = outShape(c);
        fc.pre(dyShape != null);
        await expectSameOnBothBackends(
          () =>
            run('Conv2DBackpropFilter', {
              x: gridTensor([c.batch, c.inHeight, c.inWidth, c.inChannels], c.seed),
              dy: gridTensor(dyShape!, c.seed + 1),
            }, { ...convAttrs(c), filterShape: [c.filterHeight, c.filterWidth, c.inChannels, c.outChannels] }),
          `filter grad ${JSON.stringify(c)}`,
        );
      }),
      { numRuns: 80 },
    );
  });

  it('takes every path: the first CNN layer (1 → 32), wide rows (8 → 16), a gradient too big for the direct kernel (32 → 16)', async () => {
    for (const [inChannels, outChannels] of [[1, 32], [8, 16], [32, 16]] as const) {
      const c: ConvCase = { batch: 2, inHeight: 13, inWidth: 11, inChannels, outChannels, filterHeight: 3, filterWidth: 3, strides: [1, 1], pad: 'same', seed: inChannels };
      await expectSameOnBothBackends(
        () => run('Conv2DBackpropFilter', { x: gridTensor([2, 13, 11, inChannels], 1), dy: gridTensor(outShape(c)!, 2) }, {
          ...convAttrs(c),
          filterShape: [3, 3, inChannels, outChannels],
        }),
        `filter grad ci=${inChannels}`,
      );
    }
  });

  it('accepts NCHW inputs', async () => {
    await expectSameOnBothBackends(
      () => run('Conv2DBackpropFilter', { x: gridTensor([2, 3, 7, 6], 1), dy: gridTensor([2, 4, 4, 3], 2) }, {
        strides: [2, 2], pad: 'same', dataFormat: 'NCHW', filterShape: [3, 2, 3, 4],
      }),
      'filter grad NCHW',
    );
  });
});

describe('Conv2DBackpropInput on wasm', () => {
  it('equals the cpu backend over random shapes, strides and paddings', async () => {
    await fc.assert(
      fc.asyncProperty(convCase, async (c) => {
        const dyShape = outShape(c);
        fc.pre(dyShape != null);
        await expectSameOnBothBackends(
          () =>
            run('Conv2DBackpropInput', {
              dy: gridTensor(dyShape!, c.seed),
              filter: gridTensor([c.filterHeight, c.filterWidth, c.inChannels, c.outChannels], c.seed + 1),
            }, { ...convAttrs(c), inputShape: [c.batch, c.inHeight, c.inWidth, c.inChannels] }),
          `input grad ${JSON.stringify(c)}`,
        );
      }),
      { numRuns: 80 },
    );
  });
});

describe('MaxPoolGrad on wasm', () => {
  const poolCase = fc.record({
    batch: fc.integer({ min: 1, max: 3 }),
    height: fc.integer({ min: 1, max: 11 }),
    width: fc.integer({ min: 1, max: 11 }),
    channels: fc.integer({ min: 1, max: 9 }),
    filter: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
    strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    pad: fc.constantFrom<'valid' | 'same' | number>('valid', 'same', 0, 1),
    seed: fc.nat(1e6),
  });

  it('routes each gradient to the first maximum of its window, as the cpu backend does (ties included)', async () => {
    await fc.assert(
      fc.asyncProperty(poolCase, async (p) => {
        const attrs = { filterSize: p.filter, strides: p.strides, pad: p.pad, dimRoundingMode: typeof p.pad === 'number' ? 'floor' : undefined };
        const info = tf.backend_util.computePool2DInfo([p.batch, p.height, p.width, p.channels], p.filter, p.strides, 1, p.pad, attrs.dimRoundingMode as 'floor' | undefined);
        fc.pre(info.outHeight > 0 && info.outWidth > 0);
        await expectSameOnBothBackends(() => {
          // relu of grid values: many equal values (zeros) in a window, so tie-breaking is tested.
          const x = tf.relu(gridTensor([p.batch, p.height, p.width, p.channels], p.seed));
          // Neither kernel reads the pooled output. It is not computed with the stock wasm MaxPool
          // because that kernel corrupts the wasm heap for a numeric pad with a non-square
          // window (tfjs sizes the output's width with the window's height).
          const y = tf.zeros(info.outShape);
          return run('MaxPoolGrad', { dy: gridTensor(info.outShape, p.seed + 1), input: x, output: y }, attrs);
        }, `max pool grad ${JSON.stringify(p)}`);
      }),
      { numRuns: 80 },
    );
  });


  it('never routes to NaN, like the cpu backend', async () => {
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d([NaN, 1, 2, NaN, NaN, NaN, NaN, NaN], [1, 2, 4, 1]);
      const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
      const y = tf.maxPool(x, 2, 2, 'valid');
      return run('MaxPoolGrad', { dy: tf.tensor4d([5, 7], [1, 1, 2, 1]), input: x, output: y }, attrs);
    }, 'max pool grad with NaN');
  });
});

describe.each(KERNEL_BUILDS)('MaxPoolGrad 2×2 / stride 2 fast path ($label)', ({ simd }) => {
  useKernelBuild(simd);

  it('equals the cpu backend (even and odd sizes, channels 4k and not, ties and NaN)', async () => {
    for (const [shape, pad] of [
      [[2, 6, 6, 4], 'valid'],
      [[2, 5, 7, 8], 'valid'],
      [[1, 6, 8, 3], 'same'],
      [[3, 26, 26, 32], 'valid'],
      [[2, 11, 11, 64], 'valid'],
    ] as const) {
      await expectSameOnBothBackends(() => {
        // relu of grid values: many equal values (zeros) in a window, so tie-breaking is tested.
        const values = tf.relu(gridTensor([...shape], shape[1])).dataSync().slice();
        for (let i = 0; i < values.length; i += 37) values[i] = Number.NaN;
        const x = tf.tensor(values, [...shape]);
        const info = tf.backend_util.computePool2DInfo([...shape] as [number, number, number, number], 2, 2, 1, pad);
        return run('MaxPoolGrad', { dy: gridTensor(info.outShape, 9), input: x, output: tf.zeros(info.outShape) }, { filterSize: 2, strides: 2, pad });
      }, `2×2 max pool grad ${shape} ${pad}`, 0);
    }
  });
});

describe('the embedded SIMD module', () => {
  const wat = fileURLToPath(new URL('./simd-kernels.wat', import.meta.url));
  let wat2wasm = true;
  try {
    execFileSync('wat2wasm', ['--version'], { stdio: 'ignore' });
  } catch {
    wat2wasm = false;
  }
  it.skipIf(!wat2wasm)('is simd-kernels.wat compiled (run wat2wasm as the .wat says after editing it)', () => {
    const compiled = execFileSync('wat2wasm', [wat, '--output=-']);
    expect(Buffer.from(SIMD_KERNELS_WASM, 'base64').equals(compiled)).toBe(true);
    const source = readFileSync(wat, 'utf8');
    expect(source).toContain('(export "adam")');
    // The threads' variant: the same text importing a shared memory.
    const shared = source.replace('(import "env" "memory" (memory 0))', '(import "env" "memory" (memory 1 65536 shared))');
    expect(shared).not.toBe(source);
    const sharedWat = join(mkdtempSync(join(tmpdir(), 'atelier-wat-')), 'shared.wat');
    writeFileSync(sharedWat, shared);
    const sharedCompiled = execFileSync('wat2wasm', ['--enable-threads', sharedWat, '--output=-']);
    expect(Buffer.from(SIMD_KERNELS_SHARED_WASM, 'base64').equals(sharedCompiled)).toBe(true);
  });
});

describe('gradients of a small CNN', () => {
  it('are the same on wasm and cpu (tf.grads through conv, pool, dense)', async () => {
    const grads = () => {
      const x = gridTensor([3, 10, 9, 2], 11) as tf.Tensor4D;
      const w1 = gridTensor([3, 3, 2, 4], 12) as tf.Tensor4D;
      const w2 = gridTensor([2, 2, 4, 5], 13) as tf.Tensor4D;
      const wd = gridTensor([5 * 2 * 2, 3], 14) as tf.Tensor2D;
      const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Scalar => {
        let h: tf.Tensor4D = tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'));
        h = tf.maxPool(h, 2, 2, 'valid');
        h = tf.relu(tf.conv2d(h, c as tf.Tensor4D, [2, 1], 'valid'));
        h = tf.maxPool(h, [1, 2], [1, 2], 'same');
        const logits = tf.matMul(tf.reshape(h, [3, -1]), d as tf.Tensor2D);
        return tf.sum(tf.square(logits));
      };
      return tf.grads(loss)([x, w1, w2, wd]);
    };
    // Through square and relu the values stay on the 1/64 grid only for a while; allow 1e-5 relative.
    await expectSameOnBothBackends(grads, 'CNN gradients');
  });
});

describe('conv and pool kernels and memory', () => {
  it('leave no tensor and no wasm buffer behind', () => {
    const x = gridTensor([2, 9, 9, 8], 1) as tf.Tensor4D;
    const w = gridTensor([3, 3, 8, 4], 2) as tf.Tensor4D;
    const before = liveCounts();
    for (let i = 0; i < 30; i++) {
      tf.tidy(() => {
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), 2, 2, 'valid')))([x, w]);
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid')))([x, w]);
        tf.grads((a: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, w.slice([0, 0, 0, 0], [3, 3, 8, 1]) as tf.Tensor4D, 1, 'valid')))([tf.slice(x, [0, 0, 0, 0], [1, 9, 9, 8])]);
      });
    }
    expect(liveCounts()).toEqual(before);
    tf.dispose([x, w]);
  });
});
