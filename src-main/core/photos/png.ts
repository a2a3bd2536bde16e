import sharp from 'sharp';
import { IMAGE_SIDE } from '../fashion-mnist';
import type { PreprocessSteps } from './preprocess.js';

/** The pictures `preprocessPhoto` keeps, by name, so the UI can show them side by side. */
export type PreprocessStepName = keyof PreprocessSteps;

export interface StepPngOptions {
  /**
   * Integer enlargement with nearest-neighbour sampling, so 28×28 pixels stay crisp squares
   * (default 1: the UI can also scale with CSS `image-rendering: pixelated`).
   */
  readonly scale?: number;
}

/** Encode one preprocessing step as a PNG (RGBA for the original, grayscale for the rest). */
export async function stepToPng(steps: PreprocessSteps, step: PreprocessStepName, options: StepPngOptions = {}): Promise<Buffer> {
  const { width, height, channels, data } = stepPixels(steps, step);
  const scale = Math.max(1, Math.floor(options.scale ?? 1));
  let pipeline = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });
  if (scale > 1) pipeline = pipeline.resize(width * scale, height * scale, { kernel: 'nearest' });
  // Without this libvips widens one channel to sRGB: three times the bytes for the same picture.
  if (channels === 1) pipeline = pipeline.toColourspace('b-w');
  return pipeline.png({ compressionLevel: 6 }).toBuffer();
}

/** The same PNG as a `data:image/png;base64,…` URL, ready for an `<img src>` under a strict CSP allowing `img-src data:`. */
export async function stepToDataUrl(steps: PreprocessSteps, step: PreprocessStepName, options: StepPngOptions = {}): Promise<string> {
  return `data:image/png;base64,${(await stepToPng(steps, step, options)).toString('base64')}`;
}

function stepPixels(steps: PreprocessSteps, step: PreprocessStepName): { width: number; height: number; channels: 1 | 4; data: Uint8Array } {
  switch (step) {
    case 'original':
      return { ...steps.original, channels: 4 };
    case 'mask':
      return { width: steps.mask.width, height: steps.mask.height, channels: 1, data: steps.mask.data.map((v) => (v ? 255 : 0)) };
    case 'separated':
      return { ...steps.separated, channels: 1 };
    case 'final28':
      return { width: IMAGE_SIDE, height: IMAGE_SIDE, channels: 1, data: steps.final28 };
  }
}
