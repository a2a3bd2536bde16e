import { IMAGE_SIDE } from '../fashion-mnist';
import { seededRandom } from './augment.js';
import type { RgbaImage } from './image.js';
import { boxAbove } from './morphology.js';

/** Test support: synthetic "photos" with a known garment, so assertions can be exact. */

export type Rgb = readonly [number, number, number];

export interface Shape {
  /** Rectangles that together make the garment (a body and sleeves, say). */
  readonly rects: readonly { x: number; y: number; w: number; h: number }[];
}

/** A rectangular garment body with one longer sleeve: asymmetric, so a wrong rotation or flip shows. */
export const asymmetricShirt = (x: number, y: number, scale = 1): Shape => ({
  rects: [
    { x: x + 20 * scale, y, w: 40 * scale, h: 70 * scale },
    { x, y, w: 20 * scale, h: 20 * scale },
    { x: x + 60 * scale, y, w: 30 * scale, h: 45 * scale },
  ],
});

export function inShape(shape: Shape, x: number, y: number): boolean {
  return shape.rects.some((r) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h);
}

/**
 * A `width × height` photo: `background` with seeded texture noise (a floor), the garment in
 * `garment` with its own mild texture. Deterministic for a given seed.
 */
export function syntheticPhoto(options: {
  width: number;
  height: number;
  background: Rgb;
  garment: Rgb;
  shape: Shape;
  noise?: number;
  seed?: number;
}): RgbaImage {
  const { width, height, background, garment, shape, noise = 6, seed = 1 } = options;
  const random = seededRandom(seed);
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const colour = inShape(shape, x, y) ? garment : background;
      const jitter = (random() - 0.5) * 2 * noise;
      const o = (y * width + x) * 4;
      for (let c = 0; c < 3; c += 1) data[o + c] = Math.max(0, Math.min(255, Math.round(colour[c]! + jitter)));
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/** Bounding box of the pixels above `threshold` in a 28×28 image, with its centre. */
export function inputBox(input: ArrayLike<number>, threshold: number, size = IMAGE_SIDE): { x0: number; y0: number; x1: number; y1: number; width: number; height: number; cx: number; cy: number } {
  // An empty image gives the same numbers as before the helper existed: x0 = y0 = size, x1 = y1 = −1.
  const found = boxAbove(input, size, size, threshold) ?? { x0: size, y0: size, x1: 0, y1: 0 };
  const { x0, y0 } = found;
  const x1 = found.x1 - 1;
  const y1 = found.y1 - 1;
  return { x0, y0, x1, y1, width: x1 - x0 + 1, height: y1 - y0 + 1, cx: (x0 + x1) / 2, cy: (y0 + y1) / 2 };
}
