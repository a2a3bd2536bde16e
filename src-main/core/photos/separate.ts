/**
 * Separate the garment from its background (README, "Preprocessing", step 1): at a small size,
 * by colour distance to the border's colours, then cleaned up and refined; alpha for a cut-out.
 */
import { backgroundDistance, boxBlur, estimateBackground, otsuThreshold, percentile, thresholdAbove } from './background.js';
import { toLab, type LabImage } from './colour.js';
import { resizeArea } from './geometry.js';
import type { FloatImage, Mask, RgbaImage } from './image.js';
import { closeMask, erode, fillHoles, largestRegion, openMask } from './morphology.js';

/**
 * Longest side at which the garment is separated. The mask only has to place the garment's
 * outline to within a fraction of one of the final 28 pixels, and every step costs per pixel.
 */
export const SEPARATION_SIZE = 128;

/** Area-average an RGBA image down so its longest side is at most `maxSide` (a copy-free no-op when it already is). */
export function downscaleRgba(image: RgbaImage, maxSide: number): RgbaImage {
  const scale = maxSide / Math.max(image.width, image.height);
  if (scale >= 1) return image;
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const n = image.width * image.height;
  const data = new Uint8Array(width * height * 4);
  // Average colour weighted by alpha, so transparent pixels do not darken the edges of a cut-out.
  const alpha = new Float32Array(n);
  for (let i = 0; i < n; i += 1) alpha[i] = image.data[i * 4 + 3] ?? 255;
  const alphaSmall = resizeArea({ width: image.width, height: image.height, data: alpha }, width, height).data;
  for (let c = 0; c < 3; c += 1) {
    const channel = new Float32Array(n);
    for (let i = 0; i < n; i += 1) channel[i] = ((image.data[i * 4 + c] ?? 0) * (alpha[i] ?? 0)) / 255;
    const small = resizeArea({ width: image.width, height: image.height, data: channel }, width, height).data;
    for (let i = 0; i < width * height; i += 1) {
      const a = alphaSmall[i] ?? 0;
      data[i * 4 + c] = a > 0 ? Math.round(Math.min(255, ((small[i] ?? 0) * 255) / a)) : 0;
    }
  }
  for (let i = 0; i < width * height; i += 1) data[i * 4 + 3] = Math.round(alphaSmall[i] ?? 0);
  return { width, height, data };
}

/** Nearest-neighbour resample of a mask (to carry a mask found at a small size back to the photo's size). */
export function resizeMask(mask: Mask, width: number, height: number): Mask {
  if (mask.width === width && mask.height === height) return mask;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) {
    const sy = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / height));
    for (let x = 0; x < width; x += 1) {
      const sx = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / width));
      data[y * width + x] = mask.data[sy * mask.width + sx] ?? 0;
    }
  }
  return { width, height, data };
}

export interface SeparationOptions {
  /** Radius of the morphological clean-up, as a share of the shorter side. */
  readonly cleanup?: number;
  /** Rounds of colour-model refinement after the border-based cut (default 2; 0 to skip). */
  readonly refine?: number;
  /** Longest side to separate at (default `SEPARATION_SIZE`); the mask comes back at the image's size. */
  readonly size?: number;
}

export interface Separation {
  readonly mask: Mask;
  /** Distance-to-background map the mask was cut from (at the separation size), for diagnosis. */
  readonly distance: FloatImage;
  readonly threshold: number;
}

/**
 * Separate the garment from the background: model the background from the border colours,
 * measure every pixel's distance to it, cut at Otsu's threshold (on a log scale), clean up
 * (open, then close), keep the largest region, fill its holes, then refine with colour models
 * of garment and background. A transparent border means a cut-out: its alpha is the mask.
 */
export function separateGarment(photo: RgbaImage, options: SeparationOptions = {}): Separation {
  const transparent = transparencyMask(photo);
  if (transparent) {
    return { mask: fillHoles(largestRegion(transparent)), distance: { width: photo.width, height: photo.height, data: Float32Array.from(transparent.data) }, threshold: 0.5 };
  }
  const image = downscaleRgba(photo, options.size ?? SEPARATION_SIZE);
  const separation = separateByColour(image, options);
  // Pull the outline in by one separation pixel: a rim of floor inside the mask turns into a
  // bright outline once negated, while a lost rim of garment is invisible at 28×28.
  const guard = Math.ceil(Math.max(photo.width, photo.height) / Math.max(image.width, image.height));
  return { ...separation, mask: erode(resizeMask(separation.mask, photo.width, photo.height), guard) };
}

function separateByColour(image: RgbaImage, options: SeparationOptions): Separation {
  const { width, height } = image;
  const lab = toLab(image);
  const model = estimateBackground(lab);
  const blurRadius = Math.max(1, Math.round(Math.min(width, height) / 128));
  // Distances are ratios to the background's spread: on a log scale the background is one
  // compact mode and the garment another, whereas on a linear scale a vivid print dominates
  // the variance and Otsu would cut between the print and the rest of the garment.
  const distance = boxBlur(backgroundDistance(lab, model), blurRadius);
  const logDistance = new Float32Array(distance.data.length);
  let largest = 0;
  for (let i = 0; i < logDistance.length; i += 1) {
    logDistance[i] = Math.log1p(distance.data[i] ?? 0);
    largest = Math.max(largest, logDistance[i] ?? 0);
  }
  // The far tail (specular highlights, a logo) would squash the histogram: clip at the 99th percentile.
  const max = percentile(logDistance, 0.99, largest);
  const threshold = Math.expm1(otsuThreshold(logDistance, { min: 0, max: Math.max(max, 1e-6) }));
  const radius = Math.max(1, Math.round((options.cleanup ?? 0.015) * Math.min(width, height)));
  let mask = thresholdAbove(distance, threshold);
  mask = closeMask(openMask(mask, radius), radius);
  mask = fillHoles(largestRegion(mask));
  const refine = options.refine ?? 2;
  if (refine > 0) mask = refineByColour(lab, mask, refine, radius);
  return { mask, distance, threshold };
}

/** Bin index of a Lab colour in a coarse 3-D histogram (8 lightness × 8 × 8 chroma bins). */
function colourBin(lab: Float32Array, p: number): number {
  const clampBin = (v: number): number => Math.min(7, Math.max(0, Math.floor(v)));
  const l = clampBin(((lab[p] ?? 0) / 100) * 8);
  const a = clampBin(((lab[p + 1] ?? 0) + 64) / 16);
  const b = clampBin(((lab[p + 2] ?? 0) + 64) / 16);
  return (l * 8 + a) * 8 + b;
}

/**
 * Refine a mask with colour models of both sides (the idea of GrabCut without the graph cut):
 * learn colour histograms inside and outside the mask, label each pixel by which side its
 * colour is likelier on, smooth that evidence spatially, clean up, repeat. Background colours
 * that the border did not show (tile grout, the other half of a rug) are learnt from the rest
 * of the background and leave the garment.
 */
export function refineByColour(lab: LabImage, initial: Mask, iterations = 2, cleanupRadius = 1): Mask {
  const { width, height } = lab;
  const n = width * height;
  const bins = new Uint16Array(n);
  for (let i = 0; i < n; i += 1) bins[i] = colourBin(lab.data, i * 3);
  let mask = initial;
  for (let iteration = 0; iteration < iterations; iteration += 1) {
    const inside = new Float64Array(512).fill(1);
    const outside = new Float64Array(512).fill(1);
    let nIn = 512;
    let nOut = 512;
    for (let i = 0; i < n; i += 1) {
      const bin = bins[i] ?? 0;
      if (mask.data[i] === 1) {
        inside[bin] = (inside[bin] ?? 0) + 1;
        nIn += 1;
      } else {
        outside[bin] = (outside[bin] ?? 0) + 1;
        nOut += 1;
      }
    }
    if (nIn === 512 || nOut === 512) return mask;
    const evidence = new Float32Array(n);
    for (let i = 0; i < n; i += 1) {
      const bin = bins[i] ?? 0;
      // Clamped to ±1 so the smoothing below is a vote: unclamped, the more peaked histogram's
      // larger log-ratios would push the outline outward or inward.
      const ratio = Math.log(((inside[bin] ?? 1) / nIn) / ((outside[bin] ?? 1) / nOut));
      evidence[i] = Math.max(-1, Math.min(1, ratio));
    }
    const smooth = boxBlur({ width, height, data: evidence }, Math.max(1, Math.round(Math.min(width, height) / 64)));
    let next = thresholdAbove(smooth, 0);
    next = closeMask(openMask(next, cleanupRadius), cleanupRadius);
    mask = fillHoles(largestRegion(next));
  }
  return mask;
}

/**
 * When a photo comes with real transparency (a product cut-out) and its border is
 * transparent, the alpha channel already is the separation.
 */
function transparencyMask(image: RgbaImage): Mask | undefined {
  const { width, height, data } = image;
  let borderTransparent = 0;
  let border = 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if (x !== 0 && y !== 0 && x !== width - 1 && y !== height - 1) continue;
      border += 1;
      if ((data[(y * width + x) * 4 + 3] ?? 255) < 128) borderTransparent += 1;
    }
  }
  if (borderTransparent < 0.5 * border) return undefined;
  const mask = new Uint8Array(width * height);
  let on = 0;
  for (let i = 0; i < mask.length; i += 1) {
    mask[i] = (data[i * 4 + 3] ?? 255) >= 128 ? 1 : 0;
    on += mask[i] ?? 0;
  }
  return on > 0 ? { width, height, data: mask } : undefined;
}
