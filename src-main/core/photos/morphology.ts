/** Binary morphology and regions on masks (1 = garment): clean-up, largest region, holes, boxes. */
import type { Box, GrayImage, Mask } from './image.js';

function squareFilter(mask: Mask, radius: number, op: 'dilate' | 'erode'): Mask {
  if (radius <= 0) return mask;
  const { width, height } = mask;
  const full = 2 * radius + 1;
  const dilating = op === 'dilate';
  // Outside the image is background, as on an infinite black plane.
  const pass = (src: Uint8Array, len: number, lines: number, step: number, lineStep: number): Uint8Array => {
    const out = new Uint8Array(src.length);
    for (let line = 0; line < lines; line += 1) {
      const base = line * lineStep;
      // 1s in the window [i - radius, i + radius], sliding along the line.
      let ones = 0;
      for (let j = 0; j <= radius && j < len; j += 1) ones += src[base + j * step] ?? 0;
      for (let i = 0; i < len; i += 1) {
        out[base + i * step] = dilating ? (ones > 0 ? 1 : 0) : ones === full ? 1 : 0;
        const enter = i + radius + 1;
        const leave = i - radius;
        if (enter < len) ones += src[base + enter * step] ?? 0;
        if (leave >= 0) ones -= src[base + leave * step] ?? 0;
      }
    }
    return out;
  };
  const horizontal = pass(mask.data, width, height, 1, width);
  return { width, height, data: pass(horizontal, height, width, width, 1) };
}

function pad(mask: Mask, by: number): Mask {
  const width = mask.width + 2 * by;
  const data = new Uint8Array(width * (mask.height + 2 * by));
  for (let y = 0; y < mask.height; y += 1) data.set(mask.data.subarray(y * mask.width, (y + 1) * mask.width), (y + by) * width + by);
  return { width, height: mask.height + 2 * by, data };
}

function unpad(mask: Mask, by: number): Mask {
  const width = mask.width - 2 * by;
  const height = mask.height - 2 * by;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) data.set(mask.data.subarray((y + by) * mask.width + by, (y + by) * mask.width + by + width), y * width);
  return { width, height, data };
}

/** Binary dilation by a (2r+1)² square. */
export const dilate = (mask: Mask, radius: number): Mask => squareFilter(mask, radius, 'dilate');
/** Binary erosion by a (2r+1)² square; outside the image counts as background. */
export const erode = (mask: Mask, radius: number): Mask => squareFilter(mask, radius, 'erode');
/** Opening: removes specks and threads thinner than the square. */
export const openMask = (mask: Mask, radius: number): Mask => dilate(erode(mask, radius), radius);
/**
 * Closing: bridges gaps and notches narrower than the square. Computed on a padded copy so
 * that a garment near the edge is not glued to it (the dilation may grow past the edge).
 */
export const closeMask = (mask: Mask, radius: number): Mask => (radius <= 0 ? mask : unpad(erode(dilate(pad(mask, radius), radius), radius), radius));

/** Label 8-connected regions of 1s. Returns the label image (0 = background) and each region's size. */
export function labelRegions(mask: Mask): { labels: Int32Array; sizes: number[] } {
  const { width, height } = mask;
  const labels = new Int32Array(width * height);
  const sizes: number[] = [0];
  const stack = new Int32Array(width * height);
  for (let start = 0; start < labels.length; start += 1) {
    if (mask.data[start] !== 1 || labels[start] !== 0) continue;
    const label = sizes.length;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const p = stack[--top] ?? 0;
      size += 1;
      const px = p % width;
      const py = (p - px) / width;
      for (let dy = -1; dy <= 1; dy += 1) {
        const y = py + dy;
        if (y < 0 || y >= height) continue;
        for (let dx = -1; dx <= 1; dx += 1) {
          const x = px + dx;
          if (x < 0 || x >= width) continue;
          const q = y * width + x;
          if (mask.data[q] === 1 && labels[q] === 0) {
            labels[q] = label;
            stack[top++] = q;
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/** Keep only the largest 8-connected region (the garment; the rest is clutter or floor texture). */
export function largestRegion(mask: Mask): Mask {
  const { labels, sizes } = labelRegions(mask);
  let best = 0;
  for (let l = 1; l < sizes.length; l += 1) if ((sizes[l] ?? 0) > (sizes[best] ?? 0)) best = l;
  const data = new Uint8Array(mask.data.length);
  if (best > 0) for (let i = 0; i < data.length; i += 1) data[i] = labels[i] === best ? 1 : 0;
  return { width: mask.width, height: mask.height, data };
}

/** Fill every 0-region that does not touch the border (prints, buttons, a logo the colour of the floor). */
export function fillHoles(mask: Mask): Mask {
  const { width, height } = mask;
  const outside = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  let top = 0;
  const seed = (p: number): void => {
    if (mask.data[p] === 0 && outside[p] === 0) {
      outside[p] = 1;
      stack[top++] = p;
    }
  };
  for (let x = 0; x < width; x += 1) {
    seed(x);
    seed((height - 1) * width + x);
  }
  for (let y = 0; y < height; y += 1) {
    seed(y * width);
    seed(y * width + width - 1);
  }
  while (top > 0) {
    const p = stack[--top] ?? 0;
    const x = p % width;
    if (x > 0) seed(p - 1);
    if (x < width - 1) seed(p + 1);
    if (p >= width) seed(p - width);
    if (p < (height - 1) * width) seed(p + width);
  }
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i += 1) data[i] = outside[i] === 1 ? 0 : 1;
  return { width, height, data };
}

/** Bounding box of the 1s (or of pixels > 0 in a gray image); `undefined` when there are none. */
export function boundingBox(image: Mask | GrayImage): Box | undefined {
  return boxAbove(image.data, image.width, image.height, 0);
}

/**
 * Bounding box (x1, y1 exclusive) of the pixels above `threshold` in a row-major image;
 * `undefined` when there are none. Also frames the 28×28 training variants (augment, edge-cut).
 */
export function boxAbove(data: ArrayLike<number>, width: number, height: number, threshold: number): Box | undefined {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if ((data[y * width + x] ?? 0) <= threshold) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? undefined : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/** Share of 1s in a mask. */
export function coverage(mask: Mask): number {
  let on = 0;
  for (let i = 0; i < mask.data.length; i += 1) on += mask.data[i] ?? 0;
  return on / Math.max(1, mask.data.length);
}
