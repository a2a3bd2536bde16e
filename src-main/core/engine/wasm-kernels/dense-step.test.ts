import { beforeAll, describe, expect, it } from 'vitest';
import { denseStackTraining, describeDenseStack } from './dense-model.js';
import { DenseStackTrainer, validateDenseStack, type DenseLayerSpec } from './dense-step.js';
import { fashionMnistAvailable, readFashionMnistSample } from './fashion-mnist-sample.js';
import { CONTROL_BYTES, KernelThreads, share } from './kernel-threads.js';
import { instantiateSimdKernels } from './simd-kernels.js';
import { expectClose, liveCounts, seededRandom, setUpBackends, tf } from './kernel-test-helpers.js';

beforeAll(setUpBackends);

/** A compiled Sequential Dense stack with seeded weights, on the active backend. */
function denseModel(inputShape: number[], hidden: { units: number; activation: 'relu' | 'linear' }[], classes: number, seed: number, learningRate = 0.01): tf.Sequential {
  const model = tf.sequential();
  // Flatten needs rank ≥ 2 per example; a flat input goes straight into the first Dense.
  if (inputShape.length > 1) model.add(tf.layers.flatten({ inputShape }));
  const first = (i: number) => (i === 0 && inputShape.length === 1 ? { inputShape } : {});
  hidden.forEach((h, i) => model.add(tf.layers.dense({ ...first(i), ...h, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }), biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 50 + i }) })));
  model.add(tf.layers.dense({ ...first(hidden.length), units: classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 99 }) }));
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Inputs in [0, 1] with about `zeros` of them exactly 0, as images are; labels below `classes`. */
function batchOf(count: number, width: number, classes: number, seed: number, zeros = 0.5): { pixels: Float32Array; labels: Float32Array } {
  const next = seededRandom(seed);
  const pixels = Float32Array.from({ length: count * width }, () => (next() < zeros ? 0 : next()));
  const labels = Float32Array.from({ length: count }, () => Math.floor(next() * classes));
  return { pixels, labels };
}

interface Snapshot {
  losses: number[];
  accuracies: number[];
  weights: number[][];
  moments: number[][];
  accBeta: number[];
  iterations: number;
}

function snapshot(model: tf.LayersModel, losses: number[], accuracies: number[]): Snapshot {
  const adam = model.optimizer as unknown as { accumulatedFirstMoment: { variable: tf.Variable }[]; accumulatedSecondMoment: { variable: tf.Variable }[]; accBeta1: tf.Variable; accBeta2: tf.Variable; iterations_?: number };
  return {
    losses,
    accuracies,
    weights: model.getWeights().map((w) => Array.from(w.dataSync())),
    moments: [...adam.accumulatedFirstMoment, ...adam.accumulatedSecondMoment].map((m) => Array.from(m.variable.dataSync())),
    accBeta: [adam.accBeta1.dataSync()[0]!, adam.accBeta2.dataSync()[0]!],
    iterations: adam.iterations_ ?? 0,
  };
}

/** `steps` batches through trainOnBatch on the cpu backend, or through the Dense-stack trainer on wasm. */
async function train(backend: 'cpu' | 'wasm', build: () => tf.Sequential, batches: { pixels: Float32Array; labels: Float32Array }[], threads = 1): Promise<Snapshot> {
  await tf.setBackend(backend);
  const model = build();
  const inputShape = (model.inputs[0]!.shape as number[]).slice(1);
  const losses: number[] = [];
  const accuracies: number[] = [];
  try {
    if (backend === 'cpu') {
      for (const { pixels, labels } of batches) {
        const xs = tf.tensor(pixels, [labels.length, ...inputShape]);
        const ys = tf.tensor2d(labels, [labels.length, 1]);
        const [loss, accuracy] = (await model.trainOnBatch(xs, ys)) as number[];
        tf.dispose([xs, ys]);
        losses.push(loss!);
        accuracies.push(accuracy!);
      }
    } else {
      const lookup = denseStackTraining(tf, model, Math.max(...batches.map((b) => b.labels.length)), { threads });
      if (!lookup.training) throw new Error(`not a Dense stack: ${lookup.reason}`);
      expect(lookup.training.threads).toBe(threads);
      try {
        for (const { pixels, labels } of batches) {
          const result = lookup.training.step(pixels, labels, labels.length);
          losses.push(result.loss);
          accuracies.push(result.accuracy);
        }
        lookup.training.sync();
      } finally {
        lookup.training.dispose();
      }
    }
    return snapshot(model, losses, accuracies);
  } finally {
    model.optimizer.dispose();
    model.dispose();
    await tf.setBackend('wasm');
  }
}

/** Same as trainOnBatch on cpu to float32 rounding with one thread, and bit for bit the same with 2 and 3. */
async function expectSameTraining(what: string, build: () => tf.Sequential, batches: { pixels: Float32Array; labels: Float32Array }[]): Promise<void> {
  const cpu = await train('cpu', build, batches);
  const wasm = await train('wasm', build, batches);
  expectClose([wasm.losses, wasm.accuracies], [cpu.losses, cpu.accuracies], 1e-5, `${what}: loss and accuracy`);
  expectClose(wasm.weights, cpu.weights, 1e-5, `${what}: weights`);
  expectClose(wasm.moments, cpu.moments, 1e-5, `${what}: Adam moments`);
  expect(wasm.accBeta).toEqual(cpu.accBeta);
  expect(wasm.iterations).toBe(cpu.iterations);
  for (const threads of [2, 3]) expect(await train('wasm', build, batches, threads), `${what}, ${threads} threads`).toEqual(wasm);
}

describe('DenseStackTrainer against trainOnBatch on the cpu backend', () => {
  it('trains the tutorial MLP (784 → 128 relu → 10 softmax) the same, step for step', async () => {
    const batches = [0, 1, 2, 3].map((s) => batchOf(32, 784, 10, 100 + s));
    await expectSameTraining('tutorial MLP', () => denseModel([28, 28], [{ units: 128, activation: 'relu' }], 10, 7, 0.001), batches);
  });

  it('handles batch 1, odd widths, linear and stacked hidden layers, and a last short batch', async () => {
    const cases: { what: string; input: number[]; hidden: { units: number; activation: 'relu' | 'linear' }[]; classes: number; sizes: number[] }[] = [
      { what: '13 → 7 relu → 5 relu → 3', input: [13], hidden: [{ units: 7, activation: 'relu' }, { units: 5, activation: 'relu' }], classes: 3, sizes: [1, 1, 1] },
      { what: '6 → 37 linear → 9', input: [2, 3], hidden: [{ units: 37, activation: 'linear' }], classes: 9, sizes: [5, 5, 2] },
      { what: '29 → 33 relu → 10', input: [29], hidden: [{ units: 33, activation: 'relu' }], classes: 10, sizes: [17, 17, 17, 3] },
      { what: '5 → 2 (no hidden layer)', input: [5], hidden: [], classes: 2, sizes: [4, 4, 1] },
    ];
    for (const [n, c] of cases.entries()) {
      const width = c.input.reduce((a, b) => a * b, 1);
      const batches = c.sizes.map((size, s) => batchOf(size, width, c.classes, 1000 * n + s, 0.3));
      await expectSameTraining(c.what, () => denseModel(c.input, c.hidden, c.classes, 11 + n), batches);
    }
  });

  it('matches where the loss clips (a confident model) and where inputs have no zeros', async () => {
    // A large learning rate drives the probabilities of a repeated batch to the clip bounds.
    const batch = batchOf(8, 12, 4, 5, 0);
    await expectSameTraining('clipping', () => denseModel([12], [{ units: 16, activation: 'relu' }], 4, 3, 0.5), Array.from({ length: 12 }, () => batch));
  });

  it('continues from an optimizer that trainOnBatch already stepped (moments and β powers carried over)', async () => {
    const batches = [0, 1, 2, 3].map((s) => batchOf(6, 10, 3, 40 + s));
    const build = () => denseModel([10], [{ units: 8, activation: 'relu' }], 3, 21);
    await tf.setBackend('wasm');
    const cpuAll = await train('cpu', build, batches);
    // Two steps with tfjs on wasm, then two with the trainer on the same model.
    const model = build();
    for (const { pixels, labels } of batches.slice(0, 2)) {
      const xs = tf.tensor(pixels, [labels.length, 10]);
      const ys = tf.tensor2d(labels, [labels.length, 1]);
      await model.trainOnBatch(xs, ys);
      tf.dispose([xs, ys]);
    }
    const lookup = denseStackTraining(tf, model, 6, { threads: 1 });
    expect(lookup.reason).toBeUndefined();
    for (const { pixels, labels } of batches.slice(2)) lookup.training!.step(pixels, labels, labels.length);
    lookup.training!.sync();
    lookup.training!.dispose();
    const mixed = snapshot(model, [], []);
    model.optimizer.dispose();
    model.dispose();
    expectClose(mixed.weights, cpuAll.weights, 1e-5, 'weights');
    expectClose(mixed.moments, cpuAll.moments, 1e-5, 'moments');
    expect(mixed.iterations).toBe(4);
  });

  it('leaves no tensor behind and puts the model back where predict sees the trained weights', async () => {
    await tf.setBackend('wasm');
    const before = liveCounts();
    const model = denseModel([28, 28], [{ units: 128, activation: 'relu' }], 10, 1, 0.001);
    const lookup = denseStackTraining(tf, model, 32, { threads: 2 });
    const { pixels, labels } = batchOf(32, 784, 10, 9);
    for (let i = 0; i < 3; i++) lookup.training!.step(pixels, labels, 32);
    lookup.training!.sync();
    lookup.training!.sync();
    const predicted = tf.tidy(() => (model.predict(tf.tensor(pixels, [32, 28, 28])) as tf.Tensor).dataSync());
    const { loss } = lookup.training!.step(pixels, labels, 32);
    lookup.training!.dispose();
    let expected = 0;
    for (let r = 0; r < 32; r++) expected -= Math.log(predicted[r * 10 + labels[r]!]!);
    expect(loss).toBeCloseTo(expected / 32, 5);
    model.optimizer.dispose();
    model.dispose();
    expect(liveCounts()).toEqual(before);
  });
});

describe('which models the Dense-stack trainer takes', () => {
  it('takes Dense stacks with Adam and sparse categorical cross-entropy on wasm only, and says why not otherwise', async () => {
    await tf.setBackend('wasm');
    const dispose = (m: tf.LayersModel) => {
      m.optimizer?.dispose();
      m.dispose();
    };
    const ok = denseModel([28, 28], [{ units: 128, activation: 'relu' }], 10, 1);
    const lookup = denseStackTraining(tf, ok, 32);
    expect(lookup.reason).toBeUndefined();
    lookup.training!.dispose();
    expect(describeDenseStack(ok)).toEqual({ layers: [{ inputs: 784, units: 128, activation: 'relu' }, { inputs: 128, units: 10, activation: 'softmax' }] });
    dispose(ok);

    const sgd = denseModel([4], [], 2, 1);
    sgd.compile({ optimizer: tf.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    expect(denseStackTraining(tf, sgd, 8).reason).toBe('the optimizer is not Adam');
    sgd.compile({ optimizer: tf.train.adam(0.1), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    expect(denseStackTraining(tf, sgd, 8).reason).toBe('the loss is categoricalCrossentropy');
    dispose(sgd);

    const tanh = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'tanh' }), tf.layers.dense({ units: 2, activation: 'softmax' })] });
    tanh.compile({ optimizer: tf.train.adam(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    expect(denseStackTraining(tf, tanh, 8).reason).toMatch(/uses tanh/);
    dispose(tanh);

    const conv = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 2, activation: 'softmax' })] });
    conv.compile({ optimizer: tf.train.adam(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    expect(denseStackTraining(tf, conv, 8).reason).toBe('it has a Conv2D layer');
    dispose(conv);

    const regularised = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, activation: 'softmax', kernelRegularizer: tf.regularizers.l2() })] });
    regularised.compile({ optimizer: tf.train.adam(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    expect(denseStackTraining(tf, regularised, 8).reason).toMatch(/kernel regularizer/);
    dispose(regularised);

    await tf.setBackend('cpu');
    const onCpu = denseModel([4], [], 2, 1);
    expect(denseStackTraining(tf, onCpu, 8).reason).toBe('the backend is cpu');
    dispose(onCpu);
    await tf.setBackend('wasm');
  });

  it('gives the same bits from images as bytes (scaled inside the step) as from [0, 1] floats', () => {
    const layers: DenseLayerSpec[] = [{ inputs: 784, units: 40, activation: 'relu' }, { inputs: 40, units: 10, activation: 'softmax' }];
    const adam = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const next = seededRandom(77);
    // Every byte value, in a batch of 32 images with the zeros images have.
    const bytes = Uint8Array.from({ length: 32 * 784 }, (_, i) => (i < 256 ? i : next() < 0.5 ? 0 : Math.floor(next() * 256)));
    const labels = Array.from({ length: 32 }, (_, i) => i % 10);
    const results = [false, true].map((asBytes) => {
      const trainer = DenseStackTrainer.create(layers, 32, adam, { threads: 2 })!;
      const init = seededRandom(5);
      trainer.setWeights(0, Float32Array.from({ length: 784 * 40 }, () => init() - 0.5), new Float32Array(40));
      trainer.setWeights(1, Float32Array.from({ length: 400 }, () => init() - 0.5), new Float32Array(10));
      const losses: number[] = [];
      for (let step = 0; step < 3; step++) {
        if (asBytes) {
          trainer.inputByteBuffer(32).set(bytes);
          losses.push(trainer.stepOnBytes(labels, 32).loss);
        } else {
          losses.push(trainer.step(Float32Array.from(bytes, (b) => b / 255), labels, 32).loss);
        }
      }
      const weights = [trainer.getWeights(0), trainer.getWeights(1)];
      trainer.dispose();
      return { losses, weights };
    });
    expect(results[1]).toEqual(results[0]);
  });

  it('refuses malformed stacks and batches with a message that names the problem', () => {
    expect(() => validateDenseStack([])).toThrow(/no layers/);
    expect(() => validateDenseStack([{ inputs: 4, units: 3, activation: 'relu' }])).toThrow(/last layer must be softmax/);
    expect(() => validateDenseStack([{ inputs: 4, units: 3, activation: 'relu' }, { inputs: 2, units: 2, activation: 'softmax' }])).toThrow(/takes 2 inputs/);
    const layers: DenseLayerSpec[] = [{ inputs: 4, units: 2, activation: 'softmax' }];
    const trainer = DenseStackTrainer.create(layers, 2, { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, { threads: 1 })!;
    expect(() => trainer.step(new Float32Array(12), [0, 1, 0], 3)).toThrow(/batch of 3, at most 2/);
    expect(() => trainer.step(new Float32Array(7), [0, 1], 2)).toThrow(/7 input values/);
    expect(() => trainer.step(new Float32Array(8), [0, 2], 2)).toThrow(/label 2 is not a class index/);
    expect(() => trainer.setWeights(0, [1, 2], [0, 0])).toThrow(/4×2 kernel/);
  });
});

describe.skipIf(!fashionMnistAvailable())('the tutorial MLP on Fashion-MNIST', () => {
  it('learns as trainOnBatch does: same loss curve within float32 rounding over 60 batches', async () => {
    const sample = await readFashionMnistSample(60 * 32);
    const batches = Array.from({ length: 60 }, (_, b) => ({
      pixels: sample.images.slice(b * 32 * 784, (b + 1) * 32 * 784),
      labels: sample.labels.slice(b * 32, (b + 1) * 32),
    }));
    const build = () => denseModel([28, 28], [{ units: 128, activation: 'relu' }], 10, 42, 0.001);
    const cpu = await train('cpu', build, batches);
    const wasm = await train('wasm', build, batches, 2);
    // Rounding differences grow a little over 60 steps; the curve and the weights stay together.
    expectClose([wasm.losses], [cpu.losses], 1e-4, 'loss per batch');
    expectClose(wasm.weights, cpu.weights, 1e-4, 'weights after 60 batches');
    expect(wasm.losses.at(-1)!).toBeLessThan(wasm.losses[0]! * 0.6);
  });
});

describe('KernelThreads', () => {
  it('splits ranges into contiguous parts that cover them exactly', () => {
    for (const [n, parts] of [[32, 2], [32, 3], [784, 3], [1, 2], [5, 4]] as const) {
      const ranges = Array.from({ length: parts }, (_, i) => share(n, parts, i));
      expect(ranges[0]![0]).toBe(0);
      expect(ranges.at(-1)![1]).toBe(n);
      ranges.slice(1).forEach(([start], i) => expect(start).toBe(ranges[i]![1]));
    }
  });

  it('runs calls on a helper, reports a helper that fails with its error, and ends its helpers', () => {
    const own = instantiateSimdKernels(16 + CONTROL_BYTES + 4096, true)!;
    expect(own).not.toBeNull();
    const pool = new KernelThreads(own.module, own.memory, 16, 1);
    const f32 = new Float32Array(own.memory.buffer);
    const i32 = new Int32Array(own.memory.buffer);
    // Row 0 of a 1×3 matrix at byte 1024: [0, 2.5, 0] → one tile with one entry, column 1.
    const x = 1024;
    f32.set([0, 2.5, 0], x >> 2);
    pool.post(0, [['sparseTiles', [x, 1, 3, 3, 0, 2048, 2560, 3072, 3584, 2]]]);
    pool.join();
    expect(i32[3072 >> 2]).toBe(1);
    expect(i32[2048 >> 2]).toBe(1);
    expect([f32[2560 >> 2], f32[(2560 >> 2) + 1]]).toEqual([2.5, 0]);
    // A pointer past the memory's end traps inside the helper; join says so.
    pool.post(0, [['sparseTiles', [x, 1, 3, 3, 0, 1 << 30, 2560, 3072, 3584, 2]]]);
    expect(() => pool.join()).toThrow(/training helper thread failed/);
    pool.dispose();
    pool.dispose();
    expect(() => pool.post(0, [])).toThrow(/after dispose/);
  });
});

