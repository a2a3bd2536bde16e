/**
 * The "why" heatmap as one PNG for `atelier classify --why`: the photo with the heatmap drawn
 * through the crop and scale preprocessing recorded, beside the 28×28 input with the same map.
 */
import sharp from 'sharp';
import type { WhyMap } from '../../contract';
import { IMAGE_SIDE } from '../fashion-mnist';
import { mapOntoPhoto, type PhotoFraming } from './framing';
import { normaliseHeat, paintHeat } from './heat';
import type { PreprocessSteps } from './preprocess';

/** Each input pixel as an 8×8 square in the picture. */
const INPUT_SCALE = 8;
const GAP = 8;

export async function whyPicture(steps: Pick<PreprocessSteps, 'original' | 'final28'>, framing: PhotoFraming, why: Pick<WhyMap, 'map'>): Promise<Buffer> {
  const heat28 = normaliseHeat(why.map);
  const { width, height } = steps.original;
  const photo = Uint8Array.from(steps.original.data);
  paintHeat(photo, mapOntoPhoto(framing, heat28, width, height));

  const side = IMAGE_SIDE * INPUT_SCALE;
  const input = new Uint8Array(side * side * 4);
  const heat = new Float32Array(side * side);
  for (let y = 0; y < side; y += 1) {
    for (let x = 0; x < side; x += 1) {
      const cell = Math.floor(y / INPUT_SCALE) * IMAGE_SIDE + Math.floor(x / INPUT_SCALE);
      const value = steps.final28[cell] ?? 0;
      input.set([value, value, value, 255], (y * side + x) * 4);
      heat[y * side + x] = heat28[cell] ?? 0;
    }
  }
  paintHeat(input, heat);

  const raw = (data: Uint8Array, w: number, h: number) => ({ input: Buffer.from(data.buffer, data.byteOffset, data.byteLength), raw: { width: w, height: h, channels: 4 as const } });
  return sharp({ create: { width: width + GAP + side, height: Math.max(height, side), channels: 4, background: { r: 20, g: 22, b: 26, alpha: 1 } } })
    .composite([
      { ...raw(photo, width, height), left: 0, top: 0 },
      { ...raw(input, side, side), left: width + GAP, top: 0 },
    ])
    .png({ compressionLevel: 6 })
    .toBuffer();
}
