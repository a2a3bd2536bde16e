/**
 * "Why this answer" in the renderer: the 28×28 input's bytes for the core, and the heatmap painted
 * on a canvas, over the input or through the recorded crop and scale over the photo. The colours
 * and the mapping are the core's own (core/photos/heat.ts, framing.ts), as in `classify --why`.
 */
import type { AtelierBridge, PhotoFraming, WhyMap } from '../../../src-main/contract';
import { WHY_METHOD } from '../../../src-main/contract';
import { IMAGE_SIDE, PIXELS_PER_IMAGE } from '../../../src-main/core/fashion-mnist';
import { mapOntoPhoto } from '../../../src-main/core/photos/framing';
import { heatColour, normaliseHeat } from '../../../src-main/core/photos/heat';
import { unwrap } from './api';

/** The one line every "Why" shows. */
export const WHY_SUMMARY = WHY_METHOD.summary;

/** The photo is painted at most this many pixels on its longest side (the card shows it smaller). */
const PHOTO_OVERLAY_SIDE = 256;

/** The bytes of a 28×28 grayscale picture (the card's "28×28 input" PNG), 0 background … 255. */
export async function pixelsOfPicture(source: string): Promise<Uint8Array> {
  const image = new Image();
  image.src = source;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = IMAGE_SIDE;
  canvas.height = IMAGE_SIDE;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('This browser cannot read pictures back from a canvas, so the heatmap cannot be computed here.');
  context.drawImage(image, 0, 0, IMAGE_SIDE, IMAGE_SIDE);
  const rgba = context.getImageData(0, 0, IMAGE_SIDE, IMAGE_SIDE).data;
  return Uint8Array.from({ length: PIXELS_PER_IMAGE }, (_, i) => rgba[i * 4] ?? 0);
}

/** Ask the core why `runId`'s model answered as it did on these 784 bytes. */
export async function explainPixels(bridge: AtelierBridge, pixels: Uint8Array, runId: string): Promise<WhyMap> {
  return unwrap(bridge.photos.why({ runId, pixels: Array.from(pixels) }));
}

/** Paint the heat of a 28×28 map, transparent where nothing raised the class, onto `canvas` (resized to fit). */
export function paintInputHeat(canvas: HTMLCanvasElement, map: readonly number[]): void {
  paint(canvas, IMAGE_SIDE, IMAGE_SIDE, normaliseHeat(map));
}

/** Paint the same map over the photo, through the crop and scale preprocessing recorded. */
export function paintPhotoHeat(canvas: HTMLCanvasElement, map: readonly number[], framing: PhotoFraming): void {
  const scale = Math.min(1, PHOTO_OVERLAY_SIDE / Math.max(framing.photo.width, framing.photo.height));
  const width = Math.max(1, Math.round(framing.photo.width * scale));
  const height = Math.max(1, Math.round(framing.photo.height * scale));
  paint(canvas, width, height, mapOntoPhoto(framing, normaliseHeat(map), width, height));
}

function paint(canvas: HTMLCanvasElement, width: number, height: number, heat: Float32Array): void {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) return;
  const image = context.createImageData(width, height);
  for (let i = 0; i < heat.length; i += 1) image.data.set(heatColour(heat[i] ?? 0), i * 4);
  context.putImageData(image, 0, 0);
}
