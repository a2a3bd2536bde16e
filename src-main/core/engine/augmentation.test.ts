/**
 * The photo-robust preset's training-time augmentation: only that preset gets it, it changes the
 * batches and nothing else about training, and the same seed gives the same run.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainingConfig } from '../../contract';
import { PIXELS_PER_IMAGE } from '../fashion-mnist';
import { shoePair } from '../photos/shoe-pairs';
import { buildModel, describePresets, PHOTO_ROBUST_CUT_SHARE, PHOTO_ROBUST_PAIR_SHARE, PHOTO_ROBUST_SHARE, presetCatalogue, trainingAugmentation, type ImageAugmentation } from './models';
import { mulberry32 } from '../random';
import { gatherPixels } from './tensors';
import { gatherAugmentedPixels, trainModel } from './train';
import { registerWasmTrainingKernels } from './wasm-kernels';

/** Small synthetic "garments": a bright block per class at a class-dependent place, with a little texture. */
function syntheticImages(count: number): { images: Uint8Array; labels: Uint8Array; count: number } {
  const random = mulberry32(99);
  const images = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 10;
    labels[i] = label;
    const top = 4 + (label % 5) * 3;
    const left = 4 + Math.floor(label / 5) * 8;
    for (let y = top; y < top + 10; y++) for (let x = left; x < left + 12; x++) images[i * PIXELS_PER_IMAGE + y * 28 + x] = 150 + Math.floor(random() * 100);
  }
  return { images, labels, count };
}

const config = (patch: Partial<TrainingConfig> = {}): TrainingConfig => ({
  preset: 'photo-robust', epochs: 1, batchSize: 50, learningRate: 0.002, hiddenUnits: 16, validationSplit: 0, seed: 5, trainLimit: 100, ...patch,
});

describe('trainingAugmentation', () => {
  it('only photo-robust augments; every preset in the catalogue is accounted for', () => {
    const ids = presetCatalogue().map((preset) => preset.id);
    expect(ids).toContain('photo-robust');
    for (const id of ids) expect(trainingAugmentation(id) !== null, id).toBe(id === 'photo-robust');
  });

  it('photo-robust keeps the CNN layout, so exports and the engine feed it [28, 28, 1]', async () => {
    await tf.ready();
    for (const [preset, shape] of [['photo-robust', [null, 28, 28, 1]], ['tutorial-mlp', [null, 28, 28]]] as const) {
      const model = buildModel(tf, config({ preset }));
      expect(model.inputs[0]!.shape).toEqual(shape);
      model.dispose();
    }
  });

  it('gives bytes of the same shape, changes some images, and is a function of the random stream only', () => {
    const augment = trainingAugmentation('photo-robust')!;
    const { images } = syntheticImages(200);
    const run = (seed: number): Uint8Array[] => {
      const random = mulberry32(seed);
      return Array.from({ length: 200 }, (_, i) => augment(images.subarray(i * 784, (i + 1) * 784), random, i % 10));
    };
    const a = run(1);
    const b = run(1);
    const c = run(2);
    expect(a.every((image) => image instanceof Uint8Array && image.length === 784)).toBe(true);
    expect(a).toEqual(b);
    const changed = a.filter((image, i) => !image.every((v, p) => v === images[i * 784 + p])).length;
    // About two thirds change (a variant for half, an edge cut for a quarter, pairs for footwear); the rest stay as they are.
    const expected = 200 * (0.3 * (PHOTO_ROBUST_PAIR_SHARE + (1 - PHOTO_ROBUST_PAIR_SHARE) * (1 - (1 - PHOTO_ROBUST_SHARE) * (1 - PHOTO_ROBUST_CUT_SHARE))) + 0.7 * (1 - (1 - PHOTO_ROBUST_SHARE) * (1 - PHOTO_ROBUST_CUT_SHARE)));
    expect(changed).toBeGreaterThan(expected - 30);
    expect(changed).toBeLessThan(expected + 30);
    expect(changed).toBeLessThan(200);
    expect(c).not.toEqual(a);
  });

  it('turns some footwear images into pairs of shoes, never other classes', () => {
    const augment = trainingAugmentation('photo-robust')!;
    const { images } = syntheticImages(10);
    const sandal = images.subarray(5 * 784, 6 * 784);
    let pairs = 0;
    for (let seed = 0; seed < 100; seed++) {
      // The same stream replayed: the first draw decides, then shoePair gets the rest of it.
      const first = mulberry32(seed)();
      const expectedPair = (() => {
        const random = mulberry32(seed);
        random();
        return shoePair(sandal, random);
      })();
      const out = augment(sandal, mulberry32(seed), 5);
      if (first < PHOTO_ROBUST_PAIR_SHARE) {
        expect(out).toEqual(expectedPair);
        pairs += 1;
      } else {
        expect(out).not.toEqual(expectedPair);
      }
      expect(augment(sandal, mulberry32(seed), 0)).not.toEqual(expectedPair);
    }
    expect(pairs).toBeGreaterThan(20);
    expect(pairs).toBeLessThan(60);
  });
});

describe('gatherAugmentedPixels', () => {
  it('is gatherPixels when the augmentation is the identity, and scales what the augmentation returns', () => {
    const { images, labels } = syntheticImages(30);
    const indices = Uint32Array.from({ length: 30 }, (_, i) => 29 - i);
    const identity: ImageAugmentation = (image) => image;
    expect(gatherAugmentedPixels(images, labels, indices, 5, 17, identity, Math.random)).toEqual(gatherPixels(images, indices, 5, 17));
    const inverted: ImageAugmentation = (image) => image.map((v) => 255 - v);
    const out = gatherAugmentedPixels(images, labels, indices, 0, 2, inverted, Math.random);
    expect(out[0]).toBeCloseTo((255 - images[29 * 784]!) / 255);
    expect(out[784 + 100]).toBeCloseTo((255 - images[28 * 784 + 100]!) / 255);
    // The label of each image reaches the augmentation.
    const seen: number[] = [];
    gatherAugmentedPixels(images, labels, indices, 0, 12, (image, _random, label) => (seen.push(label), image), Math.random);
    expect(seen).toEqual(Array.from(indices.subarray(0, 12), (index) => labels[index]!));
  });
});

describe('photo-robust training (wasm backend, as the engine trains)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    registerWasmTrainingKernels(tf);
  });

  async function lossOf(patch: Partial<TrainingConfig>, augment?: ImageAugmentation | null): Promise<number> {
    const data = syntheticImages(100);
    const model = buildModel(tf, config(patch));
    try {
      const outcome = await trainModel(tf, model, config(patch), data, {}, augment === undefined ? {} : { augment });
      return outcome.metrics[0]!.loss;
    } finally {
      model.dispose();
    }
  }

  it('the same seed gives the same run; the augmentation changes what is learnt; augmenting leaks no tensor', async () => {
    const first = await lossOf({});
    // Counted after a first run: the optimizer keeps its own variables (model.dispose does not free them).
    const before = tf.memory().numTensors;
    const again = await lossOf({});
    const plain = await lossOf({}, null);
    const otherSeed = await lossOf({ seed: 6 });
    expect(again).toBe(first);
    expect(plain).not.toBe(first);
    expect(otherSeed).not.toBe(first);
    expect(before).toBeGreaterThan(0);
    // What a run leaves (the optimizer's variables) is the same with and without augmentation.
    const leftBy = async (augment: ImageAugmentation | null | undefined): Promise<number> => {
      const start = tf.memory().numTensors;
      await lossOf({}, augment);
      return tf.memory().numTensors - start;
    };
    expect(await leftBy(undefined)).toBe(await leftBy(null));
  });

  it('the preset is described with its parameter count like the others', () => {
    const described = describePresets(tf).find((preset) => preset.id === 'photo-robust')!;
    expect(described.parameters).toBeGreaterThan(10_000);
    expect(described.defaults.preset).toBe('photo-robust');
    expect(described.description).toMatch(/photo/i);
  });
});
