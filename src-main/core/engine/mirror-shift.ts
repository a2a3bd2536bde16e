/**
 * The augmentation of the `best` preset: a garment photographed from the other side is its mirror
 * image (every Fashion-MNIST class is left-right symmetric in meaning), and a garment a little off
 * centre is still the garment. Each image is mirrored with a probability and shifted by a whole
 * number of pixels in each direction, the uncovered border filled with the background (0), as
 * PyTorch's RandomHorizontalFlip + RandomCrop(28, padding) do.
 */
import { IMAGE_SIDE, PIXELS_PER_IMAGE } from '../fashion-mnist';

export interface MirrorAndShift {
  /** Probability that an image is mirrored left to right. */
  mirrorShare: number;
  /** Largest shift in pixels, in each direction (uniform over −max … max). */
  maxShift: number;
}

/** A mirrored and/or shifted copy of a 28×28 image; draws exactly three numbers from `random`. */
export function mirrorAndShift(image: Uint8Array, random: () => number, options: MirrorAndShift): Uint8Array {
  const mirror = random() < options.mirrorShare;
  const span = 2 * options.maxShift + 1;
  const dx = Math.min(span - 1, Math.floor(random() * span)) - options.maxShift;
  const dy = Math.min(span - 1, Math.floor(random() * span)) - options.maxShift;
  const out = new Uint8Array(PIXELS_PER_IMAGE);
  for (let y = 0; y < IMAGE_SIDE; y++) {
    const sourceY = y - dy;
    if (sourceY < 0 || sourceY >= IMAGE_SIDE) continue;
    for (let x = 0; x < IMAGE_SIDE; x++) {
      const shiftedX = x - dx;
      if (shiftedX < 0 || shiftedX >= IMAGE_SIDE) continue;
      const sourceX = mirror ? IMAGE_SIDE - 1 - shiftedX : shiftedX;
      out[y * IMAGE_SIDE + x] = image[sourceY * IMAGE_SIDE + sourceX]!;
    }
  }
  return out;
}
