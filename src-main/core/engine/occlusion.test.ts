import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WHY_METHOD } from '../../contract';
import { engineWorkerUrl } from '../../locations';
import { IMAGE_SIDE, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { EngineClient } from './client';
import { saveModel } from './model-io';
import { occludedCopies, occlusionMaps, patchOrigins } from './occlusion';

const HALF = IMAGE_SIDE / 2;

/** A garment-like square of light pixels over both halves of the image, a little texture so no two pixels agree. */
function garment(seed = 0): Float32Array {
  const pixels = new Float32Array(PIXELS_PER_IMAGE);
  for (let y = 4; y < 24; y += 1) for (let x = 4; x < 24; x += 1) pixels[y * IMAGE_SIDE + x] = 0.6 + 0.3 * Math.abs(Math.sin(x * 7 + y * 3 + seed));
  return pixels;
}

/** Sum of the positive part of a map, left and right of the middle. */
function massByHalf(map: ArrayLike<number>): { left: number; right: number } {
  let left = 0;
  let right = 0;
  for (let i = 0; i < PIXELS_PER_IMAGE; i += 1) {
    const value = Math.max(0, map[i] ?? 0);
    if (i % IMAGE_SIDE < HALF) left += value;
    else right += value;
  }
  return { left, right };
}

/** The largest |value| in columns ≥ `column`. */
function largestFrom(map: ArrayLike<number>, column: number): number {
  let largest = 0;
  for (let i = 0; i < PIXELS_PER_IMAGE; i += 1) if (i % IMAGE_SIDE >= column) largest = Math.max(largest, Math.abs(map[i] ?? 0));
  return largest;
}

describe('occlusion geometry', () => {
  it('places patches every stride and one flush with the far edge', () => {
    expect(patchOrigins(28, 4, 2)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
    expect(patchOrigins(28, 6, 4)).toEqual([0, 4, 8, 12, 16, 20, 22]);
    expect(() => patchOrigins(28, 0, 2)).toThrow(RangeError);
    expect(() => patchOrigins(28, 4, 0)).toThrow(RangeError);
  });

  it('blacks out exactly one patch per copy, the input itself first', () => {
    const input = new Float32Array(PIXELS_PER_IMAGE).fill(1);
    const origins = patchOrigins(28, 4, 2);
    const copies = occludedCopies(input, origins, 4);
    expect(copies.length).toBe((1 + origins.length ** 2) * PIXELS_PER_IMAGE);
    expect(copies.subarray(0, PIXELS_PER_IMAGE).every((value) => value === 1)).toBe(true);
    // Copy 1 + 13 + 1: the patch at row 2, column 2.
    const copy = copies.subarray(15 * PIXELS_PER_IMAGE, 16 * PIXELS_PER_IMAGE);
    const zeros = [...copy.keys()].filter((i) => copy[i] === 0);
    expect(zeros).toHaveLength(16);
    expect(zeros.every((i) => Math.floor(i / 28) >= 2 && Math.floor(i / 28) < 6 && i % 28 >= 2 && i % 28 < 6)).toBe(true);
  });
});

describe('occlusion maps on a model that looks only at the left half', () => {
  /** Class 3's logit grows with the left half's brightness; the right half is never read. */
  async function leftHalfModel(batch: Float32Array, rows: number): Promise<Float32Array> {
    const out = new Float32Array(rows * 10);
    for (let row = 0; row < rows; row += 1) {
      let left = 0;
      for (let y = 0; y < IMAGE_SIDE; y += 1) for (let x = 0; x < HALF; x += 1) left += batch[row * PIXELS_PER_IMAGE + y * IMAGE_SIDE + x]!;
      const logits = Array.from({ length: 10 }, (_, c) => (c === 3 ? 0.03 * left : 0));
      const total = logits.reduce((sum, logit) => sum + Math.exp(logit), 0);
      logits.forEach((logit, c) => (out[row * 10 + c] = Math.exp(logit) / total));
    }
    return out;
  }

  it('puts the heatmap’s mass in the left half, and nothing where no patch touched the left half', async () => {
    const [result] = await occlusionMaps(leftHalfModel, garment(), { patch: WHY_METHOD.patch, stride: WHY_METHOD.stride });
    expect(result!.classIndex).toBe(3);
    const { left, right } = massByHalf(result!.map);
    expect(left).toBeGreaterThan(0);
    expect(left / (left + right)).toBeGreaterThan(0.9);
    // Columns 16+ are only ever hidden by patches that start at column 14 or later: no drop at all.
    expect(largestFrom(result!.map, HALF + 2)).toBe(0);
    // Black background hides nothing: its drop is exactly 0.
    expect(result!.map[0]).toBe(0);
  });
});

describe('occlusion in the engine worker (a saved tfjs model, the real worker)', () => {
  let dir: string;
  let client: EngineClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'atelier-occlusion-'));
    // Flatten → Dense(10, softmax), class 3's weights on the left half only.
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [IMAGE_SIDE, IMAGE_SIDE] }), tf.layers.dense({ units: 10, activation: 'softmax' })],
    });
    const kernel = new Float32Array(PIXELS_PER_IMAGE * 10);
    for (let i = 0; i < PIXELS_PER_IMAGE; i += 1) if (i % IMAGE_SIDE < HALF) kernel[i * 10 + 3] = 0.02;
    const weights = [tf.tensor2d(kernel, [PIXELS_PER_IMAGE, 10]), tf.zeros([10])];
    model.layers[1]!.setWeights(weights);
    weights.forEach((weight) => weight.dispose());
    await saveModel(tf, model, dir, 'e1');
    model.dispose();
    client = new EngineClient({ workerUrl: engineWorkerUrl(), preferBackend: null });
  }, 60_000);

  afterAll(async () => {
    await client?.terminate();
    rmSync(dir, { recursive: true, force: true });
  });

  it('explains the top class with a map whose mass is in the left half', async () => {
    const pixels = new Float32Array(2 * PIXELS_PER_IMAGE);
    pixels.set(garment(1), 0);
    pixels.set(garment(2), PIXELS_PER_IMAGE);
    const { maps, classIndex, probability } = await client.request('occlusion', { modelDir: dir, pixels, patch: WHY_METHOD.patch, stride: WHY_METHOD.stride });
    expect(Array.from(classIndex)).toEqual([3, 3]);
    for (let image = 0; image < 2; image += 1) {
      const map = maps.subarray(image * PIXELS_PER_IMAGE, (image + 1) * PIXELS_PER_IMAGE);
      const { left, right } = massByHalf(map);
      expect(left / (left + right)).toBeGreaterThan(0.9);
      expect(largestFrom(map, HALF + 2)).toBeLessThan(1e-6);
      // The unoccluded answer is the model's own probability for that input.
      const { probabilities } = await client.request('predict', { modelDir: dir, pixels: pixels.subarray(image * PIXELS_PER_IMAGE, (image + 1) * PIXELS_PER_IMAGE).slice() });
      expect(probability[image]).toBeCloseTo(probabilities[3]!, 5);
    }
  }, 60_000);

  it('leaks no tensor over 100 live frames (a prediction and a heatmap each)', async () => {
    // The first frame loads the model; the count after it is the baseline.
    await client.request('predict', { modelDir: dir, pixels: garment(0) });
    await client.request('occlusion', { modelDir: dir, pixels: garment(0), patch: WHY_METHOD.patch, stride: WHY_METHOD.stride });
    const before = await client.request('memory', {});
    const counts: number[] = [];
    for (let frame = 1; frame <= 100; frame += 1) {
      await client.request('predict', { modelDir: dir, pixels: garment(frame) });
      await client.request('occlusion', { modelDir: dir, pixels: garment(frame), patch: WHY_METHOD.patch, stride: WHY_METHOD.stride });
      if (frame % 25 === 0) counts.push((await client.request('memory', {})).numTensors);
    }
    expect(counts).toEqual([before.numTensors, before.numTensors, before.numTensors, before.numTensors]);
    expect((await client.request('memory', {})).numBytes).toBe(before.numBytes);
  }, 120_000);
});
