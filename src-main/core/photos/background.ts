/**
 * The photo's background, learnt from its border, and the statistics the separation cuts with
 * (distance to the background, Otsu's threshold, percentiles, a box blur).
 */
import type { LabImage } from './colour.js';
import type { FloatImage, Mask } from './image.js';

/** The background's colours, learnt from the photo's border: a few Lab clusters with their spread. */
export interface BackgroundModel {
  /** k × 3 Lab centres. */
  readonly centres: Float32Array;
  /** RMS distance of each cluster's border samples to its centre (texture of floor, rug, wall). */
  readonly spreads: Float32Array;
  /** Share of the border samples in each cluster. */
  readonly shares: Float32Array;
}

/** Width in pixels of the border band that is assumed to be mostly background. */
export const borderBand = (width: number, height: number): number => Math.max(1, Math.round(0.04 * Math.min(width, height)));

/**
 * Cluster the border band's colours (k-means, initialised at luminance quantiles so the result is
 * deterministic). Clusters holding less than `minShare` of the border are dropped: a sleeve or a
 * trouser leg that touches the edge is a small part of the border and must not count as floor.
 */
export function estimateBackground(lab: LabImage, options: { k?: number; band?: number; minShare?: number } = {}): BackgroundModel {
  const { width, height } = lab;
  const band = options.band ?? borderBand(width, height);
  const k = options.k ?? 3;
  const minShare = options.minShare ?? 0.12;
  const inner = Math.max(0, width - 2 * band) * Math.max(0, height - 2 * band);
  const samples = new Int32Array(width * height - inner);
  let m = 0;
  for (let y = 0; y < height; y += 1) {
    const edgeRow = y < band || y >= height - band;
    for (let x = 0; x < width; x += 1) if (edgeRow || x < band || x >= width - band) samples[m++] = y * width + x;
  }
  // Initial centres at lightness quantiles (from a histogram: no sort, deterministic).
  const lightness = new Uint32Array(101);
  for (let s = 0; s < m; s += 1) {
    const l = Math.min(100, Math.max(0, Math.round(lab.data[(samples[s] ?? 0) * 3] ?? 0)));
    lightness[l] = (lightness[l] ?? 0) + 1;
  }
  let centres = new Float32Array(k * 3);
  for (let c = 0; c < k; c += 1) {
    const target = ((c + 0.5) / k) * m;
    let seen = 0;
    let level = 0;
    while (level < 100 && seen + (lightness[level] ?? 0) < target) seen += lightness[level++] ?? 0;
    let nearest = samples[0] ?? 0;
    let best = Infinity;
    for (let s = 0; s < m; s += 1) {
      const d = Math.abs((lab.data[(samples[s] ?? 0) * 3] ?? 0) - level);
      if (d < best) {
        best = d;
        nearest = samples[s] ?? 0;
      }
    }
    centres.set(lab.data.subarray(nearest * 3, nearest * 3 + 3), c * 3);
  }
  const assign = new Int32Array(m);
  const counts = new Float64Array(k);
  for (let iteration = 0; iteration < 10; iteration += 1) {
    const sums = new Float64Array(k * 3);
    counts.fill(0);
    let changed = 0;
    for (let s = 0; s < m; s += 1) {
      const p = (samples[s] ?? 0) * 3;
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c += 1) {
        const d = sq(lab.data, p, centres, c * 3);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      if (assign[s] !== best || iteration === 0) changed += 1;
      assign[s] = best;
      counts[best] = (counts[best] ?? 0) + 1;
      sums[best * 3] = (sums[best * 3] ?? 0) + (lab.data[p] ?? 0);
      sums[best * 3 + 1] = (sums[best * 3 + 1] ?? 0) + (lab.data[p + 1] ?? 0);
      sums[best * 3 + 2] = (sums[best * 3 + 2] ?? 0) + (lab.data[p + 2] ?? 0);
    }
    const next = new Float32Array(k * 3);
    for (let c = 0; c < k; c += 1) {
      for (let j = 0; j < 3; j += 1) next[c * 3 + j] = (counts[c] ?? 0) > 0 ? (sums[c * 3 + j] ?? 0) / (counts[c] ?? 1) : (centres[c * 3 + j] ?? 0);
    }
    centres = next;
    if (changed === 0) break;
  }
  const spreadSums = new Float64Array(k);
  for (let s = 0; s < m; s += 1) {
    const c = assign[s] ?? 0;
    spreadSums[c] = (spreadSums[c] ?? 0) + sq(lab.data, (samples[s] ?? 0) * 3, centres, c * 3);
  }
  const kept: number[] = [];
  for (let c = 0; c < k; c += 1) if ((counts[c] ?? 0) / m >= minShare) kept.push(c);
  if (kept.length === 0) {
    let biggest = 0;
    for (let c = 1; c < k; c += 1) if ((counts[c] ?? 0) > (counts[biggest] ?? 0)) biggest = c;
    kept.push(biggest);
  }
  const model = { centres: new Float32Array(kept.length * 3), spreads: new Float32Array(kept.length), shares: new Float32Array(kept.length) };
  kept.forEach((c, i) => {
    model.centres.set(centres.subarray(c * 3, c * 3 + 3), i * 3);
    model.spreads[i] = Math.sqrt((spreadSums[c] ?? 0) / Math.max(1, counts[c] ?? 0));
    model.shares[i] = (counts[c] ?? 0) / m;
  });
  return model;
}

function sq(a: Float32Array, i: number, b: Float32Array, j: number): number {
  const d0 = (a[i] ?? 0) - (b[j] ?? 0);
  const d1 = (a[i + 1] ?? 0) - (b[j + 1] ?? 0);
  const d2 = (a[i + 2] ?? 0) - (b[j + 2] ?? 0);
  return d0 * d0 + d1 * d1 + d2 * d2;
}

/**
 * How unlike the background each pixel is: the distance to the nearest background cluster in
 * units of that cluster's spread (floored at `minSpread` ΔE so a flat wall does not make JPEG
 * noise look like a garment). A textured floor thus needs a bigger colour step than a plain one.
 */
export function backgroundDistance(lab: LabImage, model: BackgroundModel, minSpread = 3): FloatImage {
  const n = lab.width * lab.height;
  const out = new Float32Array(n);
  const k = model.spreads.length;
  for (let i = 0; i < n; i += 1) {
    let best = Infinity;
    for (let c = 0; c < k; c += 1) {
      const d = Math.sqrt(sq(lab.data, i * 3, model.centres, c * 3)) / Math.max(minSpread, model.spreads[c] ?? 0);
      if (d < best) best = d;
    }
    out[i] = best;
  }
  return { width: lab.width, height: lab.height, data: out };
}

/** Mean over a (2r+1)² square (the part inside the image); separable running sums, O(n). */
export function boxBlur(image: FloatImage, radius: number): FloatImage {
  if (radius <= 0) return image;
  const { width, height } = image;
  const pass = (src: Float32Array, len: number, lines: number, step: number, lineStep: number): Float32Array => {
    const out = new Float32Array(src.length);
    for (let line = 0; line < lines; line += 1) {
      const base = line * lineStep;
      let sum = 0;
      let count = 0;
      for (let j = 0; j <= radius && j < len; j += 1) {
        sum += src[base + j * step] ?? 0;
        count += 1;
      }
      for (let i = 0; i < len; i += 1) {
        out[base + i * step] = sum / count;
        const enter = i + radius + 1;
        const leave = i - radius;
        if (enter < len) {
          sum += src[base + enter * step] ?? 0;
          count += 1;
        }
        if (leave >= 0) {
          sum -= src[base + leave * step] ?? 0;
          count -= 1;
        }
      }
    }
    return out;
  };
  const horizontal = pass(image.data, width, height, 1, width);
  return { width, height, data: pass(horizontal, height, width, width, 1) };
}

/**
 * Otsu's threshold of a set of values: the cut that maximises the between-class variance.
 * Values are binned into 256 bins over [min, max]; returns a value in the input's units.
 */
export function otsuThreshold(values: ArrayLike<number>, range?: { min: number; max: number }): number {
  let min = range?.min ?? Infinity;
  let max = range?.max ?? -Infinity;
  if (!range) {
    for (let i = 0; i < values.length; i += 1) {
      const v = values[i] ?? 0;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!(max > min)) return min;
  const bins = 256;
  const histogram = new Float64Array(bins);
  const scale = (bins - 1) / (max - min);
  for (let i = 0; i < values.length; i += 1) {
    const v = Math.min(max, Math.max(min, values[i] ?? 0));
    const b = Math.round((v - min) * scale);
    histogram[b] = (histogram[b] ?? 0) + 1;
  }
  let total = 0;
  let totalSum = 0;
  for (let b = 0; b < bins; b += 1) {
    total += histogram[b] ?? 0;
    totalSum += b * (histogram[b] ?? 0);
  }
  let weightBelow = 0;
  let sumBelow = 0;
  let best = 0;
  let bestVariance = -1;
  for (let b = 0; b < bins - 1; b += 1) {
    weightBelow += histogram[b] ?? 0;
    sumBelow += b * (histogram[b] ?? 0);
    const weightAbove = total - weightBelow;
    if (weightBelow === 0 || weightAbove === 0) continue;
    const meanBelow = sumBelow / weightBelow;
    const meanAbove = (totalSum - sumBelow) / weightAbove;
    const variance = weightBelow * weightAbove * (meanBelow - meanAbove) ** 2;
    if (variance > bestVariance) {
      bestVariance = variance;
      best = b;
    }
  }
  return min + (best + 0.5) / scale;
}

/** The `q`-quantile of non-negative values up to `max`, to 1/1024 of `max` (a histogram, no sort). */
export function percentile(values: ArrayLike<number>, q: number, max: number): number {
  if (!(max > 0)) return 0;
  const bins = 1024;
  const histogram = new Uint32Array(bins);
  for (let i = 0; i < values.length; i += 1) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((values[i] ?? 0) / max) * bins)));
    histogram[b] = (histogram[b] ?? 0) + 1;
  }
  let seen = 0;
  for (let b = 0; b < bins; b += 1) {
    seen += histogram[b] ?? 0;
    if (seen >= q * values.length) return ((b + 1) / bins) * max;
  }
  return max;
}

/** 1 where `image > threshold`. */
export function thresholdAbove(image: FloatImage, threshold: number): Mask {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i += 1) data[i] = (image.data[i] ?? 0) > threshold ? 1 : 0;
  return { width: image.width, height: image.height, data };
}
