/** Test images with their predictions, as `evaluation.samples` sends them, unpacked for drawing. */
import type { EvaluationSamples } from '../../../src-main/contract';
import { PIXELS_PER_IMAGE } from '../../../src-main/core/fashion-mnist';

export interface SampleItem {
  index: number;
  label: number;
  predicted: number;
  probabilities: number[];
  /** 784 grayscale bytes. */
  pixels: Uint8Array;
}

/** Split the page's base64 pixel block into one 28×28 image per item. */
export function decodeSamples(page: EvaluationSamples): SampleItem[] {
  const binary = atob(page.pixels);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  if (bytes.length !== page.items.length * PIXELS_PER_IMAGE) {
    throw new Error(`The core sent ${bytes.length} pixel bytes for ${page.items.length} images; expected ${page.items.length * PIXELS_PER_IMAGE}. Reload the view.`);
  }
  return page.items.map((item, position) => ({
    ...item,
    pixels: bytes.subarray(position * PIXELS_PER_IMAGE, (position + 1) * PIXELS_PER_IMAGE),
  }));
}
