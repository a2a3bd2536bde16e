/**
 * Turning Fashion-MNIST bytes into model inputs: pixels scaled to [0, 1] as in the tutorial,
 * labels as float32 (the wasm backend's `floor` rejects int32, and sparse losses floor labels).
 */
import type * as tfType from '@tensorflow/tfjs';
import { PIXELS_PER_IMAGE } from '../fashion-mnist';

type Tf = typeof tfType;

/** Gather images by index into one float batch, scaled to [0, 1]. */
export function gatherPixels(images: Uint8Array, indices: ArrayLike<number>, start: number, end: number): Float32Array {
  const count = end - start;
  const out = new Float32Array(count * PIXELS_PER_IMAGE);
  for (let i = 0; i < count; i++) {
    const source = indices[start + i]! * PIXELS_PER_IMAGE;
    const target = i * PIXELS_PER_IMAGE;
    for (let p = 0; p < PIXELS_PER_IMAGE; p++) out[target + p] = images[source + p]! / 255;
  }
  return out;
}

export function gatherLabels(labels: Uint8Array, indices: ArrayLike<number>, start: number, end: number): Float32Array {
  const out = new Float32Array(end - start);
  for (let i = 0; i < out.length; i++) out[i] = labels[indices[start + i]!]!;
  return out;
}

/** A batch tensor in the layout the model wants ([n,28,28] or [n,28,28,1]). */
export function inputTensor(tf: Tf, pixels: Float32Array, inputShape: readonly number[]): tfType.Tensor {
  const count = pixels.length / PIXELS_PER_IMAGE;
  return tf.tensor(pixels, [count, ...inputShape], 'float32');
}

/**
 * Probabilities for many images, in chunks so memory stays flat; every intermediate tensor is
 * disposed. `pixelsOf(start, end)` supplies each chunk as [0, 1] floats.
 */
export async function predictProbabilities(
  tf: Tf,
  model: tfType.LayersModel,
  count: number,
  pixelsOf: (start: number, end: number) => Float32Array,
  options: { chunk?: number; classes?: number; onProgress?: (done: number) => void } = {},
): Promise<Float32Array> {
  const chunk = options.chunk ?? 1000;
  const classes = options.classes ?? 10;
  const inputShape = (model.inputs[0]!.shape as (number | null)[]).slice(1) as number[];
  const out = new Float32Array(count * classes);
  for (let start = 0; start < count; start += chunk) {
    const end = Math.min(count, start + chunk);
    const pixels = pixelsOf(start, end);
    const probabilities = tf.tidy(() => model.predict(inputTensor(tf, pixels, inputShape)) as tfType.Tensor);
    out.set(await probabilities.data(), start * classes);
    probabilities.dispose();
    options.onProgress?.(end);
  }
  return out;
}
