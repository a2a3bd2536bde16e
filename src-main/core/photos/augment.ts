/**
 * Training-time augmentation that imitates what `preprocessPhoto` makes of a real photo:
 * a garment a little rotated, off-centre, too small or too big (a shadow or hanger in the
 * bounding box), wider or narrower (laid flat rather than worn), mirrored, with printed
 * patterns and folds instead of smooth shading, a little soft or noisy.
 *
 * Pure functions on 28×28 images with values in [0, 1] (`Float32Array`) or 0..255
 * (`Uint8Array`) and a seeded random source, so the engine can reproduce an epoch exactly.
 */

import { IMAGE_SIDE } from '../fashion-mnist';
import { mulberry32, type Random } from '../random';
import { boxAbove } from './morphology';

export type { Random } from '../random';
/** Mulberry32 (see core/random.ts), named for what augmentation uses it for. */
export const seededRandom = mulberry32;

/** A standard normal draw (Box–Muller). */
export function gaussian(random: Random): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const uniform = (random: Random, lo: number, hi: number): number => lo + (hi - lo) * random();

/** A geometric change, about the image centre. */
export interface AffineParams {
  /** Rotation in degrees, counter-clockwise. */
  readonly angle?: number;
  /** Uniform scale (> 1 enlarges). */
  readonly scale?: number;
  /** Extra horizontal scale relative to vertical: 1.1 makes the garment 10 % wider. */
  readonly aspect?: number;
  /** Shift in pixels. */
  readonly shiftX?: number;
  readonly shiftY?: number;
  /** Mirror left-right (shoes photographed toe right, a jacket seen from the other side). */
  readonly flip?: boolean;
}

/**
 * Warp a square image by inverse mapping with bilinear sampling; outside is black, like
 * Fashion-MNIST's background.
 */
export function affine(image: Float32Array, params: AffineParams, size = IMAGE_SIDE): Float32Array {
  const { angle = 0, scale = 1, aspect = 1, shiftX = 0, shiftY = 0, flip = false } = params;
  const out = new Float32Array(size * size);
  const c = (size - 1) / 2;
  const theta = (angle * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const sx = scale * Math.sqrt(aspect);
  const sy = scale / Math.sqrt(aspect);
  const sample = (x: number, y: number): number =>
    x < 0 || y < 0 || x >= size || y >= size ? 0 : (image[y * size + x] ?? 0);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      // Undo shift, rotation, scale, then the mirror, to find where this pixel came from.
      const dx = x - c - shiftX;
      const dy = y - c - shiftY;
      let u = (cos * dx + sin * dy) / sx;
      const v = (-sin * dx + cos * dy) / sy;
      if (flip) u = -u;
      const fx = u + c;
      const fy = v + c;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const ax = fx - x0;
      const ay = fy - y0;
      out[y * size + x] =
        (1 - ay) * ((1 - ax) * sample(x0, y0) + ax * sample(x0 + 1, y0)) + ay * ((1 - ax) * sample(x0, y0 + 1) + ax * sample(x0 + 1, y0 + 1));
    }
  }
  return out;
}

/**
 * Re-frame like `preprocessPhoto` does: crop to the pixels above `threshold`, scale the
 * longest side to `box` (bilinear) and centre the bounding box. After a rotation or a
 * change of aspect this gives what the photo pipeline would have produced.
 */
export function refit(image: Float32Array, box = IMAGE_SIDE, threshold = 0.02, size = IMAGE_SIDE): Float32Array {
  const found = boxAbove(image, size, size, threshold);
  if (!found) return Float32Array.from(image);
  const { x0, y0 } = found;
  const x1 = found.x1 - 1;
  const y1 = found.y1 - 1;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const scale = box / Math.max(w, h);
  const ow = Math.max(1, Math.round(w * scale));
  const oh = Math.max(1, Math.round(h * scale));
  const left = Math.floor((size - ow) / 2);
  const top = Math.floor((size - oh) / 2);
  const out = new Float32Array(size * size);
  const sample = (x: number, y: number): number => {
    const cx = Math.min(x1, Math.max(x0, x));
    const cy = Math.min(y1, Math.max(y0, y));
    return image[cy * size + cx] ?? 0;
  };
  for (let y = 0; y < oh; y += 1) {
    for (let x = 0; x < ow; x += 1) {
      const fx = x0 + (x + 0.5) / scale - 0.5;
      const fy = y0 + (y + 0.5) / scale - 0.5;
      const ix = Math.floor(fx);
      const iy = Math.floor(fy);
      const ax = fx - ix;
      const ay = fy - iy;
      out[(top + y) * size + left + x] =
        (1 - ay) * ((1 - ax) * sample(ix, iy) + ax * sample(ix + 1, iy)) + ay * ((1 - ax) * sample(ix, iy + 1) + ax * sample(ix + 1, iy + 1));
    }
  }
  return out;
}

/**
 * Change the garment's tones, leaving the black background black: `gamma` < 1 brightens
 * the mid-tones, `contrast` scales the spread around the garment's mean, then the brightest
 * pixel is brought back to 1 (as `preprocessPhoto` does).
 */
export function adjustTones(image: Float32Array, params: { gamma?: number; contrast?: number }): Float32Array {
  const { gamma = 1, contrast = 1 } = params;
  const powered = new Float32Array(image.length);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < image.length; i += 1) {
    const v = image[i] ?? 0;
    if (v <= 0) continue;
    const p = gamma === 1 ? v : Math.pow(v, gamma);
    powered[i] = p;
    sum += p;
    count += 1;
  }
  const mean = count > 0 ? sum / count : 0;
  const out = new Float32Array(image.length);
  let max = 0;
  for (let i = 0; i < image.length; i += 1) {
    const v = image[i] ?? 0;
    if (v <= 0) continue;
    // Keep a sliver of the garment visible where contrast would push it to black.
    const t = Math.max(0.02 * v, mean + contrast * ((powered[i] ?? 0) - mean));
    out[i] = t;
    if (t > max) max = t;
  }
  if (max > 0) for (let i = 0; i < out.length; i += 1) out[i] = (out[i] ?? 0) / max;
  return out;
}

/** Gaussian blur (separable, edges clamped to black outside). `sigma` in pixels; 0 returns a copy. */
export function blur(image: Float32Array, sigma: number, size = IMAGE_SIDE): Float32Array {
  if (sigma <= 0) return Float32Array.from(image);
  const radius = Math.ceil(3 * sigma);
  const kernel = new Float32Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i += 1) {
    kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
    total += kernel[i + radius] ?? 0;
  }
  for (let i = 0; i < kernel.length; i += 1) kernel[i] = (kernel[i] ?? 0) / total;
  const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < size; y += 1) {
      for (let x = 0; x < size; x += 1) {
        let sum = 0;
        for (let k = -radius; k <= radius; k += 1) {
          const sx = horizontal ? x + k : x;
          const sy = horizontal ? y : y + k;
          if (sx < 0 || sy < 0 || sx >= size || sy >= size) continue;
          sum += (kernel[k + radius] ?? 0) * (src[sy * size + sx] ?? 0);
        }
        out[y * size + x] = sum;
      }
    }
    return out;
  };
  return pass(pass(image, true), false);
}

/**
 * Multiplicative noise on the garment only (the background of a preprocessed photo is
 * exactly black): imitates prints, checks, folds and sensor noise. `sigma` relative to 1.
 */
export function garmentNoise(image: Float32Array, sigma: number, random: Random): Float32Array {
  const out = new Float32Array(image.length);
  for (let i = 0; i < image.length; i += 1) {
    const v = image[i] ?? 0;
    out[i] = v <= 0 ? 0 : Math.min(1, Math.max(0, v * (1 + sigma * gaussian(random))));
  }
  return out;
}

/** Ranges the random augmentation draws from. */
export interface PhotoAugmentation {
  /** Largest rotation, degrees either way. */
  readonly maxAngle: number;
  /** Uniform scale range. */
  readonly scale: readonly [number, number];
  /** Largest aspect change, as a factor either way (1.2 → 1/1.2 … 1.2). */
  readonly maxAspect: number;
  /** Largest shift, pixels either way. */
  readonly maxShift: number;
  /** Probability of a left-right mirror. */
  readonly flip: number;
  /** Probability of re-framing after the warp, as the photo pipeline would. */
  readonly refit: number;
  readonly gamma: readonly [number, number];
  readonly contrast: readonly [number, number];
  /** Probability of blurring, and the largest sigma. */
  readonly blur: number;
  readonly maxBlur: number;
  /** Largest multiplicative garment noise. */
  readonly maxNoise: number;
}

/** Defaults for the `photo-robust` training preset; each range is what photos measured show. */
export const PHOTO_AUGMENTATION: PhotoAugmentation = {
  maxAngle: 12,
  scale: [0.85, 1.05],
  maxAspect: 1.25,
  maxShift: 2,
  flip: 0.5,
  refit: 0.5,
  gamma: [0.6, 1.6],
  contrast: [0.6, 1.4],
  blur: 0.3,
  maxBlur: 0.8,
  maxNoise: 0.25,
};

/**
 * One random photo-like variant of a Fashion-MNIST image. Bytes in, bytes out; floats in
 * [0, 1] in, floats out. The same image, `random` state and options give the same result.
 */
export function augmentPhotoLike(image: Uint8Array, random: Random, options?: Partial<PhotoAugmentation>): Uint8Array;
export function augmentPhotoLike(image: Float32Array, random: Random, options?: Partial<PhotoAugmentation>): Float32Array;
export function augmentPhotoLike(image: Uint8Array | Float32Array, random: Random, options: Partial<PhotoAugmentation> = {}): Uint8Array | Float32Array {
  const o: PhotoAugmentation = { ...PHOTO_AUGMENTATION, ...options };
  let x: Float32Array = new Float32Array(image.length);
  const scale = image instanceof Uint8Array ? 1 / 255 : 1;
  for (let i = 0; i < image.length; i += 1) x[i] = (image[i] ?? 0) * scale;
  const logAspect = Math.log(o.maxAspect);
  x = affine(x, {
    angle: uniform(random, -o.maxAngle, o.maxAngle),
    scale: uniform(random, o.scale[0], o.scale[1]),
    aspect: Math.exp(uniform(random, -logAspect, logAspect)),
    shiftX: uniform(random, -o.maxShift, o.maxShift),
    shiftY: uniform(random, -o.maxShift, o.maxShift),
    flip: random() < o.flip,
  });
  if (random() < o.refit) x = refit(x);
  x = adjustTones(x, { gamma: uniform(random, o.gamma[0], o.gamma[1]), contrast: uniform(random, o.contrast[0], o.contrast[1]) });
  if (random() < o.blur) x = blur(x, uniform(random, 0.3, o.maxBlur));
  x = garmentNoise(x, uniform(random, 0, o.maxNoise), random);
  if (image instanceof Float32Array) return x;
  const bytes = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i += 1) bytes[i] = Math.round(Math.min(1, Math.max(0, x[i] ?? 0)) * 255);
  return bytes;
}
