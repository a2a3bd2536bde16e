/**
 * People photograph garments close up: a sleeve, a hem or a trouser leg runs off the edge of the
 * photo, and the photo pipeline frames what is left. Fashion-MNIST garments are always whole,
 * so a model that never saw a cut garment takes the blunt shape for a Bag. This cuts a
 * training garment the way the edge of a photo would, then frames it like the pipeline does.
 */
import { IMAGE_SIDE } from '../fashion-mnist';
import { refit, type Random } from './augment';
import { boxAbove } from './morphology';

const SIZE = IMAGE_SIDE;

/**
 * Cut one side (60 %) or two sides of the garment's bounding box by 10–35 % of its extent
 * each, then re-frame (longest side 28, box centred, brightest pixel 255). An empty image is
 * returned as is. Deterministic for the same `random` state.
 */
export function cutAtEdges(image: Uint8Array, random: Random, threshold = 0.02): Uint8Array {
  const pixels = Float32Array.from(image, (v) => v / 255);
  const found = boxAbove(pixels, SIZE, SIZE, threshold);
  if (!found) return Uint8Array.from(image);
  const { x0, y0 } = found;
  const x1 = found.x1 - 1;
  const y1 = found.y1 - 1;
  const sides = [0, 1, 2, 3];
  // Fisher–Yates on four sides: which ones the photo's edge crosses.
  for (let i = sides.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [sides[i], sides[j]] = [sides[j]!, sides[i]!];
  }
  let left = x0;
  let right = x1;
  let top = y0;
  let bottom = y1;
  for (const side of sides.slice(0, random() < 0.6 ? 1 : 2)) {
    const fraction = 0.1 + random() * 0.25;
    if (side === 0) left = x0 + Math.round((x1 - x0) * fraction);
    else if (side === 1) right = x1 - Math.round((x1 - x0) * fraction);
    else if (side === 2) top = y0 + Math.round((y1 - y0) * fraction);
    else bottom = y1 - Math.round((y1 - y0) * fraction);
  }
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) if (x < left || x > right || y < top || y > bottom) pixels[y * SIZE + x] = 0;
  }
  const framed = refit(pixels, SIZE, threshold);
  let max = 0;
  for (const v of framed) max = Math.max(max, v);
  return Uint8Array.from(framed, (v) => Math.round(Math.min(1, max > 0 ? v / max : 0) * 255));
}
