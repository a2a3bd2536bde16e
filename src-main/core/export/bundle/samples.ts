/**
 * samples/: a few 28×28 inputs a person can look at (PNG) and feed exactly (samples.json, in the
 * exported file's own input layout and type), with the probabilities Atelier computed for the
 * exported file and the tolerance a check must meet.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASS_NAMES, IMAGE_SIDE, PIXELS_PER_IMAGE } from '../../fashion-mnist';
import type { ModelMetadata } from '../metadata';
import { encodeGrayPng } from './png';

export const SAMPLES_DIR = 'samples';
export const SAMPLES_FILE = 'samples.json';
/** One Fashion-MNIST test image per class where the dataset is present: ten, all different. */
export const SAMPLE_COUNT = 10;

export const samplePngName = (index: number): string => `sample-${index}.png`;

/** Every file of samples/, relative to the export folder. */
export function sampleFiles(): string[] {
  return [...Array.from({ length: SAMPLE_COUNT }, (_, index) => `${SAMPLES_DIR}/${samplePngName(index)}`), `${SAMPLES_DIR}/${SAMPLES_FILE}`];
}

/** The sample images as bytes, and where they come from. */
export interface SampleImages {
  /** SAMPLE_COUNT × 784 bytes, 0 = black background. */
  pixels: Uint8Array;
  /** The true class of each, or null for images that are not from Fashion-MNIST. */
  labels: (number | null)[];
  /** Where each image comes from, as a person reads it. */
  sources: string[];
}

export interface SamplesSpec {
  format: ModelMetadata['format'];
  model: string;
  input: { name: string | null; shape: number[]; dtype: 'float32' | 'int8'; quantization: { scale: number; zeroPoint: number } | null; preparation: string };
  output: { name: string | null; dtype: 'float32' | 'int8'; quantization: { scale: number; zeroPoint: number } | null; meaning: string };
  classes: string[];
  tolerance: number;
  rule: string;
  samples: {
    image: string;
    source: string;
    label: string | null;
    input: number[];
    probabilities: number[];
    topClass: number;
    topClassName: string;
  }[];
}

/** Real values in [0, 1] → the numbers the exported file's input takes (int8 files: quantized). */
export function encodeSampleInput(bytes: Uint8Array, input: ModelMetadata['input']): number[] {
  const q = input.quantization;
  // Through float32 so that the JSON numbers are exactly the values a float32 input holds.
  const real = Float32Array.from(bytes, (value) => value / 255);
  if (input.dtype === 'int8' && q) return Array.from(real, (value) => Math.max(-128, Math.min(127, Math.round(value / q.scale) + q.zeroPoint)));
  return Array.from(real);
}

export const samplesAsReal = (pixels: Uint8Array): Float32Array => Float32Array.from(pixels, (value) => value / 255);

function topClass(values: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k]! > values[best]!) best = k;
  return best;
}

export function buildSamplesSpec(metadata: ModelMetadata, images: SampleImages, probabilities: Float32Array, tolerance: number): SamplesSpec {
  const classes = metadata.classes.length;
  const shape = metadata.input.shape.map((size) => size ?? 1);
  return {
    format: metadata.format,
    model: metadata.files.model,
    input: {
      name: metadata.input.name,
      shape,
      dtype: metadata.input.dtype,
      quantization: metadata.input.quantization ?? null,
      preparation: `${metadata.input.layout}; ${metadata.input.scaling}. Each sample's "input" is already prepared: feed it as it is, with the shape above.`,
    },
    output: { name: metadata.output.name, dtype: metadata.output.dtype ?? 'float32', quantization: metadata.output.quantization ?? null, meaning: metadata.output.meaning },
    classes: metadata.classes,
    tolerance,
    rule: 'A sample passes when every probability (after dequantizing an int8 output) is within "tolerance" of "probabilities", and the most likely class is "topClass" or one within "tolerance" of it.',
    samples: Array.from({ length: images.labels.length }, (_, index) => {
      const pixels = images.pixels.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE);
      const expected = Array.from(probabilities.subarray(index * classes, (index + 1) * classes));
      const top = topClass(expected);
      const label = images.labels[index];
      return {
        image: samplePngName(index),
        source: images.sources[index]!,
        label: label === null || label === undefined ? null : CLASS_NAMES[label]!,
        input: encodeSampleInput(pixels, metadata.input),
        probabilities: expected,
        topClass: top,
        topClassName: CLASS_NAMES[top]!,
      };
    }),
  };
}

/** Write samples/ (the PNGs and samples.json) into the export folder `dir`. */
export async function writeSamples(dir: string, images: SampleImages, spec: SamplesSpec): Promise<void> {
  const folder = join(dir, SAMPLES_DIR);
  await mkdir(folder);
  for (let index = 0; index < images.labels.length; index++) {
    await writeFile(join(folder, samplePngName(index)), encodeGrayPng(images.pixels.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE), IMAGE_SIDE, IMAGE_SIDE));
  }
  await writeFile(join(folder, SAMPLES_FILE), `${JSON.stringify(spec, null, 1)}\n`);
}
