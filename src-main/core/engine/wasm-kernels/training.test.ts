import { beforeAll, describe, expect, it } from 'vitest';
import { fashionMnistAvailable, readFashionMnistSample, type FashionMnistSample } from './fashion-mnist-sample.js';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels, WASM_TRAINING_KERNEL_NAMES } from './index.js';
import { expectSameOnBothBackends, KERNEL_BUILDS, liveCounts, setUpBackends, tf, uniformTensor, useKernelBuild } from './kernel-test-helpers.js';
import { cnnPreset, tutorialMlp } from './reference-models.js';

beforeAll(setUpBackends);

describe('registerWasmTrainingKernels', () => {
  it('is idempotent, and unregistering puts the stock kernels back', () => {
    const ours = WASM_TRAINING_KERNEL_NAMES.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);
    const again = registerWasmTrainingKernels(tf);
    expect(again).toEqual({ replaced: [], added: [], alreadyRegistered: [...WASM_TRAINING_KERNEL_NAMES], patched: [] });
    expect(WASM_TRAINING_KERNEL_NAMES.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc)).toEqual(ours);

    const patchedAdam = tf.AdamOptimizer.prototype.applyGradients;
    unregisterWasmTrainingKernels(tf);
    const stockAdam = tf.AdamOptimizer.prototype.applyGradients;
    expect(stockAdam).not.toBe(patchedAdam);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    const stockMatMul = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc;
    expect(stockMatMul).toBeDefined();
    expect(stockMatMul).not.toBe(ours[WASM_TRAINING_KERNEL_NAMES.indexOf('BatchMatMul')]);

    expect(tf.AdamOptimizer.prototype.applyGradients).toBe(stockAdam);
    const first = registerWasmTrainingKernels(tf);
    const added = ['Conv2DBackpropFilter', 'AtelierAdamUpdate'];
    expect([...first.added].sort()).toEqual(added.sort());
    expect([...first.replaced].sort()).toEqual(WASM_TRAINING_KERNEL_NAMES.filter((n) => !added.includes(n)).sort());
    expect(first.alreadyRegistered).toEqual([]);
    expect(first.patched).toEqual(['AdamOptimizer.applyGradients']);
    expect(tf.AdamOptimizer.prototype.applyGradients).not.toBe(stockAdam);
    // The replacement wraps the stock kernel, not a previous replacement.
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc).not.toBe(stockMatMul);
  });

  it('keeps working after the engine switches backends (kernel setup runs again)', async () => {
    await tf.setBackend('cpu');
    await tf.setBackend('wasm');
    const value = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 3]), false, true).dataSync());
    expect(Array.from(value)).toEqual(new Array(8).fill(3));
  });
});

describe('gradients of the reference models', () => {
  it('are the same on wasm and cpu for the tutorial MLP and the CNN preset', async () => {
    for (const [name, build, inputShape] of [
      ['mlp', tutorialMlp, [5, 28, 28]],
      ['cnn', cnnPreset, [3, 28, 28, 1]],
    ] as const) {
      await expectSameOnBothBackends(() => {
        const model = build(tf, 7);
        const x = tf.relu(uniformTensor([...inputShape], 1));
        const labels = tf.tensor1d(Array.from({ length: inputShape[0] }, (_, i) => (i * 3) % 10), 'float32');
        // training: false keeps Dropout out of it; the gradients still run every backward kernel.
        const { grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(labels, 'int32'), 10), model.apply(x) as tf.Tensor) as tf.Scalar,
        );
        const result = model.trainableWeights.map((w) => grads[w.originalName]!);
        model.dispose();
        return result;
      }, `${name} gradients`);
    }
  });
});

describe.each(KERNEL_BUILDS)('the fused Adam step ($label)', ({ simd }) => {
  useKernelBuild(simd);

  it('updates weights and moments exactly as tfjs\'s Adam does on cpu (same gradients, a few steps)', async () => {
    await expectSameOnBothBackends(() => {
      // Odd sizes: the SIMD loop's scalar tail runs too.
      const weights = [tf.variable(uniformTensor([101, 37], 1), true, 'adam-test/kernel'), tf.variable(uniformTensor([37], 2), true, 'adam-test/bias')];
      const optimizer = tf.train.adam(0.01);
      for (let step = 0; step < 3; step++) {
        tf.tidy(() =>
          optimizer.applyGradients([
            { name: 'adam-test/kernel', tensor: uniformTensor([101, 37], 10 + step) },
            { name: 'adam-test/bias', tensor: uniformTensor([37], 20 + step) },
          ]),
        );
      }
      const state = optimizer as unknown as { accumulatedFirstMoment: { variable: tf.Tensor }[]; accumulatedSecondMoment: { variable: tf.Tensor }[] };
      const result = [
        ...weights.map((w) => w.clone()),
        ...state.accumulatedFirstMoment.map((m) => m.variable.clone()),
        ...state.accumulatedSecondMoment.map((v) => v.variable.clone()),
      ];
      optimizer.dispose();
      tf.dispose(weights);
      return result;
    }, 'weights and moments after 3 Adam steps', 0);
  });
});

const datasetMissing = !fashionMnistAvailable();

describe.skipIf(datasetMissing)('short training on real Fashion-MNIST images (wasm)', () => {
  let sample: FashionMnistSample;
  beforeAll(async () => {
    sample = await readFashionMnistSample(320);
  });

  async function trainAndCheck(build: typeof tutorialMlp, imageShape: number[], count: number, epochs: number) {
    const model = build(tf, 3);
    const x = tf.tensor(sample.images.subarray(0, count * 784), [count, ...imageShape]);
    const y = tf.tensor1d(sample.labels.subarray(0, count));
    // The first epoch also creates Adam's moment variables (two per weight), which stay.
    const first = await model.fit(x, y, { batchSize: 32, epochs: 1, shuffle: true, verbose: 0 });
    const before = liveCounts();
    const rest = await model.fit(x, y, { batchSize: 32, epochs: epochs - 1, shuffle: true, verbose: 0 });
    const after = liveCounts();
    const losses = [...(first.history.loss as number[]), ...(rest.history.loss as number[])];
    tf.dispose([x, y]);
    model.dispose();
    return { losses, before, after };
  }

  it('the tutorial MLP: the loss goes down, no tensor leaks', async () => {
    const { losses, before, after } = await trainAndCheck(tutorialMlp, [28, 28], 320, 4);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8);
    expect(after).toEqual(before);
  });

  it('the CNN preset: trains at all on wasm, the loss goes down, no tensor leaks', async () => {
    const { losses, before, after } = await trainAndCheck(cnnPreset, [28, 28, 1], 256, 4);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8);
    expect(after).toEqual(before);
  });
});
