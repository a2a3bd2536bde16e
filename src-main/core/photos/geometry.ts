/** Crop, area-average, fit and centre: the garment framed the way Fashion-MNIST frames its images. */
import { IMAGE_SIDE } from '../fashion-mnist';
import type { Box, FloatImage, GrayImage } from './image.js';

/** Copy of the pixels inside `box`. */
export function crop(image: GrayImage, box: Box): GrayImage {
  const width = box.x1 - box.x0;
  const height = box.y1 - box.y0;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) data.set(image.data.subarray((box.y0 + y) * image.width + box.x0, (box.y0 + y) * image.width + box.x1), y * width);
  return { width, height, data };
}

/**
 * Resample by area averaging: every output pixel is the mean of the source area it covers
 * (fractional pixels weighted by overlap). Downscaling this way anti-aliases edges the way a
 * camera sensor would, instead of picking pixels and aliasing stripes and checks.
 */
export function resizeArea(image: GrayImage | FloatImage, outWidth: number, outHeight: number): FloatImage {
  const weights = (inLen: number, outLen: number): { start: Int32Array; w: Float32Array[] } => {
    const scale = inLen / outLen;
    const start = new Int32Array(outLen);
    const w: Float32Array[] = [];
    for (let o = 0; o < outLen; o += 1) {
      const a = o * scale;
      const b = (o + 1) * scale;
      const first = Math.floor(a);
      const last = Math.min(inLen - 1, Math.ceil(b) - 1);
      const row = new Float32Array(last - first + 1);
      for (let i = first; i <= last; i += 1) row[i - first] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
      start[o] = first;
      w.push(row);
    }
    return { start, w };
  };
  const { width, height } = image;
  const hx = weights(width, outWidth);
  const hy = weights(height, outHeight);
  const mid = new Float32Array(outWidth * height);
  for (let y = 0; y < height; y += 1) {
    for (let o = 0; o < outWidth; o += 1) {
      const row = hx.w[o] ?? new Float32Array();
      const s = (hx.start[o] ?? 0) + y * width;
      let sum = 0;
      for (let j = 0; j < row.length; j += 1) sum += (row[j] ?? 0) * (image.data[s + j] ?? 0);
      mid[y * outWidth + o] = sum;
    }
  }
  const out = new Float32Array(outWidth * outHeight);
  for (let o = 0; o < outHeight; o += 1) {
    const col = hy.w[o] ?? new Float32Array();
    const s = hy.start[o] ?? 0;
    for (let x = 0; x < outWidth; x += 1) {
      let sum = 0;
      for (let j = 0; j < col.length; j += 1) sum += (col[j] ?? 0) * (mid[(s + j) * outWidth + x] ?? 0);
      out[o * outWidth + x] = sum;
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

/** Size that fits `width × height` into a `box`-pixel square, longest side = `box`, aspect kept. */
export function fitLongestSide(width: number, height: number, box: number): { width: number; height: number } {
  const scale = box / Math.max(width, height);
  return { width: Math.max(1, Math.min(box, Math.round(width * scale))), height: Math.max(1, Math.min(box, Math.round(height * scale))) };
}

/** Paste `image` into a black `size × size` canvas, its bounding box centred (Fashion-MNIST's convention). */
export function centreOnCanvas(image: FloatImage, size = IMAGE_SIDE): FloatImage {
  const data = new Float32Array(size * size);
  const left = Math.floor((size - image.width) / 2);
  const top = Math.floor((size - image.height) / 2);
  for (let y = 0; y < image.height; y += 1) {
    for (let x = 0; x < image.width; x += 1) {
      const tx = left + x;
      const ty = top + y;
      if (tx < 0 || ty < 0 || tx >= size || ty >= size) continue;
      data[ty * size + tx] = image.data[y * image.width + x] ?? 0;
    }
  }
  return { width: size, height: size, data };
}

/**
 * Scale so the brightest pixel is 255 (Fashion-MNIST: ~90 % of images reach 255; the
 * background stays 0) and round to bytes.
 */
export function normaliseToBytes(image: FloatImage): Uint8Array {
  let max = 0;
  for (let i = 0; i < image.data.length; i += 1) max = Math.max(max, image.data[i] ?? 0);
  const out = new Uint8Array(image.data.length);
  if (max <= 0) return out;
  for (let i = 0; i < out.length; i += 1) out[i] = Math.round(((image.data[i] ?? 0) * 255) / max);
  return out;
}
