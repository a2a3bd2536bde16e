/** The garment's tones: negated like Fashion-MNIST's product photos, then stretched to 0..255. */
import type { GrayImage, Mask } from './image.js';

/**
 * The garment light on black, the way Fashion-MNIST made its images: they are negated
 * product photos, so dark cloth is bright and white cloth dim (the contrast stretch then
 * brings its folds and seams up). Outside the mask is 0.
 *
 * Negating always, rather than only when the garment is darker than its background, is a
 * measured choice: on 290 real photos and five MLPs it scored 2–5 points higher, and 6–9
 * points higher than never negating (see the photos README in the issue note).
 */
export function negateGarment(gray: GrayImage, mask: Mask): GrayImage {
  const data = new Uint8Array(gray.data.length);
  for (let i = 0; i < data.length; i += 1) if (mask.data[i] === 1) data[i] = 255 - (gray.data[i] ?? 0);
  return { width: gray.width, height: gray.height, data };
}

/**
 * Stretch the garment's values to use 0..255 like Fashion-MNIST: the background stays 0, the
 * garment's brightest value (99th percentile, ignoring a few hot pixels) maps to 255 and its
 * darkest (1st percentile) towards 0. The gain is capped at `maxGain` so a plain garment is
 * not turned into amplified sensor noise: it stays an evenly bright silhouette.
 */
export function stretchContrast(image: GrayImage, mask: Mask, maxGain = Infinity): GrayImage {
  const histogram = new Uint32Array(256);
  let count = 0;
  for (let i = 0; i < image.data.length; i += 1) {
    if (mask.data[i] !== 1) continue;
    histogram[image.data[i] ?? 0] = (histogram[image.data[i] ?? 0] ?? 0) + 1;
    count += 1;
  }
  const data = new Uint8Array(image.data.length);
  if (count === 0) return { width: image.width, height: image.height, data };
  const percentile = (q: number): number => {
    const rank = Math.round(q * (count - 1));
    let seen = 0;
    for (let v = 0; v < 256; v += 1) {
      seen += histogram[v] ?? 0;
      if (seen > rank) return v;
    }
    return 255;
  };
  const lo = percentile(0.01);
  const hi = percentile(0.99);
  const gain = Math.min(255 / Math.max(1, hi - lo), maxGain);
  for (let i = 0; i < data.length; i += 1) {
    if (mask.data[i] !== 1) continue;
    data[i] = Math.round(Math.min(255, Math.max(0, 255 - (hi - (image.data[i] ?? 0)) * gain)));
  }
  return { width: image.width, height: image.height, data };
}
