/**
 * Probe images for checking an export: deterministic, independent of the dataset (an export
 * must work where Fashion-MNIST is not installed), half noise and half bright blocks on black so
 * both dense and garment-like inputs are compared.
 */
import { IMAGE_SIDE as SIDE, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { mulberry32 } from '../random';


/** `count` images of 28×28 values in [0, 1], row-major, one after another. */
export function probeImages(count = 12, seed = 20_24): Float32Array {
  const random = mulberry32(seed);
  const out = new Float32Array(count * PIXELS_PER_IMAGE);
  for (let image = 0; image < count; image++) {
    const pixels = out.subarray(image * PIXELS_PER_IMAGE, (image + 1) * PIXELS_PER_IMAGE);
    if (image % 2 === 0) {
      for (let i = 0; i < pixels.length; i++) pixels[i] = random();
      continue;
    }
    for (let block = 0; block < 3; block++) {
      const x0 = Math.floor(random() * 20);
      const y0 = Math.floor(random() * 20);
      const x1 = Math.min(SIDE, x0 + 4 + Math.floor(random() * 14));
      const y1 = Math.min(SIDE, y0 + 4 + Math.floor(random() * 14));
      const level = 0.3 + 0.7 * random();
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) pixels[y * SIDE + x] = level;
    }
  }
  return out;
}

/** The largest absolute difference between two equally long arrays (Infinity when lengths differ). */
export function largestDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let largest = 0;
  for (let i = 0; i < a.length; i++) {
    const difference = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(difference)) return Infinity;
    if (difference > largest) largest = difference;
  }
  return largest;
}
