import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, setUpBackends, tf, seededRandom } from '../wasm-kernels/kernel-test-helpers';
import { ParallelTrainer, shardSizeFor } from './trainer';

beforeAll(setUpBackends);
afterAll(() => tf.setBackend('wasm'));

type Architecture = 'plain' | 'dropout' | 'batch-norm';

/** Small CNNs with the layers the presets use; seeded so every backend builds the same weights. */
function buildModel(architecture: Architecture, seed = 3): tf.LayersModel {
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset });
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }));
  if (architecture === 'batch-norm') model.add(tf.layers.batchNormalization({ momentum: 0.9 }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 10, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  if (architecture === 'dropout') model.add(tf.layers.dropout({ rate: 0.3, seed: seed + 3 }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(4) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

function batch(count: number, seed: number): { pixels: Float32Array; labels: Float32Array } {
  const random = seededRandom(seed);
  const pixels = new Float32Array(count * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = random() < 0.5 ? 0 : random();
  const labels = new Float32Array(count);
  for (let i = 0; i < count; i++) labels[i] = Math.floor(random() * 10);
  return { pixels, labels };
}

const weightsOf = (model: tf.LayersModel): number[][] => model.getWeights().map((w) => Array.from(w.dataSync()));

/** Train `steps` batches with the parallel trainer; returns the weights and the reported losses. */
async function trainParallel(architecture: Architecture, threads: number, counts: number[], shardSize: number) {
  const model = buildModel(architecture);
  const trainer = await ParallelTrainer.create(tf, model, Math.max(...counts), { threads, shardSize });
  const losses: number[] = [];
  try {
    for (const [i, count] of counts.entries()) {
      const { pixels, labels } = batch(count, 100 + i);
      trainer.pixelBuffer(count).set(pixels);
      const { loss, accuracy } = await trainer.step(labels, count, i + 1);
      expect(accuracy).toBeGreaterThanOrEqual(0);
      expect(accuracy).toBeLessThanOrEqual(1);
      losses.push(loss);
    }
  } finally {
    await trainer.dispose();
  }
  const weights = weightsOf(model);
  model.dispose();
  return { weights, losses, threads: trainer.threads };
}

/** The same batches through tfjs's own trainOnBatch on the cpu backend. */
async function trainOnCpu(architecture: Architecture, counts: number[]) {
  await tf.setBackend('cpu');
  try {
    const model = buildModel(architecture);
    const losses: number[] = [];
    for (const [i, count] of counts.entries()) {
      const { pixels, labels } = batch(count, 100 + i);
      const xs = tf.tensor4d(pixels, [count, 28, 28, 1]);
      const ys = tf.tensor2d(labels, [count, 1]);
      const [loss] = (await model.trainOnBatch(xs, ys)) as number[];
      losses.push(loss!);
      xs.dispose();
      ys.dispose();
    }
    const weights = weightsOf(model);
    model.dispose();
    return { weights, losses };
  } finally {
    await tf.setBackend('wasm');
  }
}

describe('ParallelTrainer', () => {
  it('cuts batches into shards by batch size only (16 up to 64 examples, then 32)', () => {
    expect([1, 32, 64, 65, 128, 256].map(shardSizeFor)).toEqual([16, 16, 16, 32, 32, 32]);
  });

  it('trains the weights tfjs trains on the cpu backend (one shard, no dropout), to 1e-5', async () => {
    for (const architecture of ['plain', 'batch-norm'] as const) {
      const counts = [7, 7, 7];
      const parallel = await trainParallel(architecture, 1, counts, 7);
      const cpu = await trainOnCpu(architecture, counts);
      expectClose(parallel.weights, cpu.weights, 1e-5, `${architecture}: weights`);
      expectClose([parallel.losses], [cpu.losses], 1e-5, `${architecture}: losses`);
    }
  });

  it('adds the shards up to the whole batch: several shards train what trainOnBatch does (no dropout, no batch norm)', async () => {
    // 37 examples in shards of 8: four full shards and one of 5; batch 1 too.
    const counts = [37, 37, 1, 37];
    const parallel = await trainParallel('plain', 3, counts, 8);
    const cpu = await trainOnCpu('plain', counts);
    expectClose(parallel.weights, cpu.weights, 1e-5, 'weights');
    expectClose([parallel.losses], [cpu.losses], 1e-5, 'losses');
  });

  it('gives the same bits on 1, 2 and 3 threads (dropout and batch-norm statistics included)', async () => {
    for (const architecture of ['plain', 'dropout', 'batch-norm'] as const) {
      const counts = [37, 29, 37];
      const one = await trainParallel(architecture, 1, counts, 8);
      const two = await trainParallel(architecture, 2, counts, 8);
      const three = await trainParallel(architecture, 3, counts, 8);
      expect([one.threads, two.threads, three.threads]).toEqual([1, 2, 3]);
      expect(two.weights, `${architecture}: 2 threads`).toEqual(one.weights);
      expect(three.weights, `${architecture}: 3 threads`).toEqual(one.weights);
      expect(three.losses).toEqual(one.losses);
    }
  });

  it('draws other dropout masks for other shards and batches', async () => {
    // With the masks of every shard alike, shards 0 and 1 of the same examples would give the same loss.
    const model = buildModel('dropout');
    const trainer = await ParallelTrainer.create(tf, model, 16, { threads: 1, shardSize: 8 });
    const { pixels, labels } = batch(8, 5);
    const twice = new Float32Array(16 * 784);
    twice.set(pixels);
    twice.set(pixels, 8 * 784);
    trainer.pixelBuffer(16).set(twice);
    const both = Float32Array.from([...labels, ...labels]);
    const { loss: first } = await trainer.step(both, 16, 1);
    await trainer.dispose();
    model.dispose();
    expect(Number.isFinite(first)).toBe(true);
    const modelAgain = buildModel('dropout');
    const single = await ParallelTrainer.create(tf, modelAgain, 8, { threads: 1, shardSize: 8 });
    single.pixelBuffer(8).set(pixels);
    const { loss: alone } = await single.step(labels, 8, 1);
    await single.dispose();
    modelAgain.dispose();
    // Shard 0 of step 1 in both runs has the same seed; the 16-example loss mixes in shard 1's other mask.
    expect(first).not.toBe(alone);
  });

  it('leaks no tensors over many steps, on the engine thread', async () => {
    const model = buildModel('batch-norm');
    const trainer = await ParallelTrainer.create(tf, model, 20, { threads: 2, shardSize: 8 });
    const { pixels, labels } = batch(20, 9);
    trainer.pixelBuffer(20).set(pixels);
    await trainer.step(labels, 20, 1);
    const before = tf.memory().numTensors;
    for (let step = 2; step <= 12; step++) await trainer.step(labels, 20, step);
    expect(tf.memory().numTensors).toBe(before);
    await trainer.dispose();
    model.dispose();
  });

  it('says so, and starts nothing, when a helper thread cannot build the model', async () => {
    // A layer class only this thread knows: the helper's modelFromJSON cannot rebuild it.
    class OnlyHere extends tf.layers.Layer {
      static className = 'AtelierOnlyHereForTest';
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return Array.isArray(inputs) ? inputs[0]! : inputs;
      }
    }
    tf.serialization.registerClass(OnlyHere);
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), new OnlyHere({}), tf.layers.dense({ units: 10, activation: 'softmax' })] });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
    await expect(ParallelTrainer.create(tf, model, 32, { threads: 2, shardSize: 16 })).rejects.toThrow(
      /^Training on several threads failed: the training helper could not start: .*AtelierOnlyHereForTest.*Resume goes on from the last one\.$/s,
    );
    model.dispose();
  });

  it('puts the model back as it was built after dispose (its own first layer and dropout seed)', async () => {
    const model = buildModel('dropout');
    const first = model.layers[0] as unknown as { call: unknown };
    const ownCall = first.call;
    const trainer = await ParallelTrainer.create(tf, model, 8, { threads: 1, shardSize: 8 });
    expect(first.call).not.toBe(ownCall);
    const { pixels, labels } = batch(8, 1);
    trainer.pixelBuffer(8).set(pixels);
    await trainer.step(labels, 8, 7);
    await trainer.dispose();
    expect(first.call).toBe(ownCall);
    expect((model.layers.find((layer) => layer.getClassName() === 'Dropout') as unknown as { seed: number }).seed).toBe(6);
    model.dispose();
  });
});
