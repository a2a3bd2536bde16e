/** Colour conversions of the decoded photo: gray for the model's input, CIELAB for separation. */
import type { GrayImage, RgbaImage } from './image.js';

/**
 * Luma (ITU-R BT.601, the weights of PIL's "L" mode) of an RGBA image composited over `matte`.
 * Transparent pixels become the matte: a product cut-out on transparency reads as one on white,
 * the way Fashion-MNIST's source photos were shot.
 */
export function toGray(image: RgbaImage, matte = 255): GrayImage {
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  const src = image.data;
  for (let i = 0; i < n; i += 1) {
    const o = i * 4;
    const a = (src[o + 3] ?? 255) / 255;
    const luma = 0.299 * (src[o] ?? 0) + 0.587 * (src[o + 1] ?? 0) + 0.114 * (src[o + 2] ?? 0);
    out[i] = Math.round(luma * a + matte * (1 - a));
  }
  return { width: image.width, height: image.height, data: out };
}

/** CIELAB (D65) image, 3 floats per pixel: perceptual distances between colours are Euclidean. */
export interface LabImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

const SRGB_TO_LINEAR = new Float32Array(256).map((_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

function labF(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116;
}

/** sRGB → CIELAB, alpha composited over white. */
export function toLab(image: RgbaImage): LabImage {
  const n = image.width * image.height;
  const out = new Float32Array(n * 3);
  const src = image.data;
  for (let i = 0; i < n; i += 1) {
    const o = i * 4;
    const a = (src[o + 3] ?? 255) / 255;
    const r = (SRGB_TO_LINEAR[src[o] ?? 0] ?? 0) * a + (1 - a);
    const g = (SRGB_TO_LINEAR[src[o + 1] ?? 0] ?? 0) * a + (1 - a);
    const b = (SRGB_TO_LINEAR[src[o + 2] ?? 0] ?? 0) * a + (1 - a);
    const x = labF((0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047);
    const y = labF(0.2126729 * r + 0.7151522 * g + 0.072175 * b);
    const z = labF((0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883);
    out[i * 3] = 116 * y - 16;
    out[i * 3 + 1] = 500 * (x - y);
    out[i * 3 + 2] = 200 * (y - z);
  }
  return { width: image.width, height: image.height, data: out };
}
