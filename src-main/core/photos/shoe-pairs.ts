/**
 * Shoes in photos come in pairs — side by side seen from above, or one behind the other from
 * the side — while every Fashion-MNIST shoe is a single shoe seen from the side. Without
 * pairs in training, a model calls most photographed pairs "Bag". This builds a pair from one
 * training shoe, framed like the photo pipeline frames a garment.
 */
import { IMAGE_SIDE } from '../fashion-mnist';
import { affine, refit, type Random } from './augment';

/** Fashion-MNIST's footwear classes: Sandal, Sneaker, Ankle boot. */
export const FOOTWEAR_CLASSES: ReadonlySet<number> = new Set([5, 7, 9]);

const SIZE = IMAGE_SIDE;
const CANVAS = 2 * SIZE;

/** Columns holding any of the shoe (above `threshold`), as [first, last], or null when empty. */
function columnSpan(image: Float32Array, threshold = 0.02): [number, number] | null {
  let first = SIZE;
  let last = -1;
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) {
      if ((image[y * SIZE + x] ?? 0) <= threshold) continue;
      first = Math.min(first, x);
      last = Math.max(last, x);
    }
  }
  return last < 0 ? null : [first, last];
}

/** Lighten `canvas` with `shoe` placed at (left, top), optionally mirrored; the nearer shoe wins where they overlap. */
function place(canvas: Float32Array, shoe: Float32Array, left: number, top: number, mirror: boolean): void {
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) {
      const v = shoe[y * SIZE + (mirror ? SIZE - 1 - x : x)] ?? 0;
      const tx = left + x;
      const ty = top + y;
      if (v <= 0 || tx < 0 || ty < 0 || tx >= CANVAS || ty >= CANVAS) continue;
      canvas[ty * CANVAS + tx] = Math.max(canvas[ty * CANVAS + tx] ?? 0, v);
    }
  }
}

/** Halve a CANVAS×CANVAS image by averaging 2×2 blocks. */
function halve(canvas: Float32Array): Float32Array {
  const out = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) {
      const o = 2 * y * CANVAS + 2 * x;
      out[y * SIZE + x] = ((canvas[o] ?? 0) + (canvas[o + 1] ?? 0) + (canvas[o + CANVAS] ?? 0) + (canvas[o + CANVAS + 1] ?? 0)) / 4;
    }
  }
  return out;
}

/**
 * A pair made from one Fashion-MNIST shoe (28×28 bytes), as a photo of a pair would come out of
 * `preprocessPhoto`: 60 % of the time seen from above (the shoe turned ±90°, two of them side
 * by side, the second usually mirrored, a small gap and stagger), otherwise from the side (the
 * second shoe behind and above the first). Framed so the pair's longest side fills the 28 pixels,
 * the brightest pixel 255. Deterministic for the same `random` state.
 */
export function shoePair(image: Uint8Array, random: Random): Uint8Array {
  const source = Float32Array.from(image, (v) => v / 255);
  const fromAbove = random() < 0.6;
  const angle = fromAbove ? (random() < 0.5 ? 90 : -90) + (random() - 0.5) * 30 : (random() - 0.5) * 20;
  const shoe = refit(affine(source, { angle, flip: random() < 0.5 }));
  const canvas = new Float32Array(CANVAS * CANVAS);
  const centre = SIZE / 2;
  if (fromAbove) {
    const [first, last] = columnSpan(shoe) ?? [0, SIZE - 1];
    const width = last - first + 1;
    const gap = Math.floor(random() * 4);
    const stagger = Math.round((random() - 0.5) * 6);
    const left = centre + SIZE / 2 - first - Math.floor((2 * width + gap) / 2);
    place(canvas, shoe, left, centre, false);
    place(canvas, shoe, left + width + gap, centre + stagger, random() < 0.8);
  } else {
    const behindX = Math.round(4 + random() * 10);
    const behindY = -Math.round(2 + random() * 5);
    place(canvas, shoe, centre + behindX, centre + behindY, false);
    place(canvas, shoe, centre, centre, false);
  }
  const framed = refit(halve(canvas));
  let max = 0;
  for (const v of framed) max = Math.max(max, v);
  return Uint8Array.from(framed, (v) => Math.round(Math.min(1, max > 0 ? v / max : 0) * 255));
}
