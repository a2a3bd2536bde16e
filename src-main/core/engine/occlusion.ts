/**
 * Occlusion sensitivity: what raised the model's top class on one 28×28 input. A black patch is
 * slid over the image; each position's copy is predicted in the same batch as the original, and
 * every pixel gets the mean drop of the top class's probability over the patches that hid it.
 * It needs nothing but predictions, so it works for every model and every backend.
 *
 * Black (0) is Fashion-MNIST's background: hiding a patch removes that part of the garment, and
 * hiding background that is already black changes nothing (its drop is exactly 0).
 */
import type * as tfType from '@tensorflow/tfjs';
import { IMAGE_SIDE, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { predictProbabilities } from './tensors';

type Tf = typeof tfType;

export interface OcclusionOptions {
  /** Side of the square patch, in input pixels. */
  readonly patch: number;
  /** Step between patch positions; the last position sits flush with the far edge. */
  readonly stride: number;
}

export interface OcclusionMap {
  classIndex: number;
  /** The class's probability on the unoccluded input. */
  probability: number;
  /** 784 values, row-major: mean probability drop over the patches covering each pixel. */
  map: Float32Array;
}

/** Where a patch starts along one side: 0, stride, 2·stride, …, and `side − patch` so the edge is covered too. */
export function patchOrigins(side: number, patch: number, stride: number): number[] {
  if (!Number.isInteger(patch) || patch < 1 || patch > side) throw new RangeError(`The patch must be 1–${side} pixels, not ${patch}.`);
  if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`The stride must be a whole number of pixels, at least 1, not ${stride}.`);
  const origins: number[] = [];
  for (let origin = 0; origin <= side - patch; origin += stride) origins.push(origin);
  if (origins.at(-1) !== side - patch) origins.push(side - patch);
  return origins;
}

/** The input itself, then one copy per patch position (rows, then columns) with that patch set to 0. */
export function occludedCopies(input: Float32Array, origins: readonly number[], patch: number, side = IMAGE_SIDE): Float32Array {
  const pixels = side * side;
  const count = 1 + origins.length * origins.length;
  const out = new Float32Array(count * pixels);
  for (let copy = 0; copy < count; copy += 1) out.set(input, copy * pixels);
  let copy = 1;
  for (const top of origins) {
    for (const left of origins) {
      const base = copy * pixels;
      for (let y = top; y < top + patch; y += 1) out.fill(0, base + y * side + left, base + y * side + left + patch);
      copy += 1;
    }
  }
  return out;
}

/** The map from the copies' probabilities (`copies × classes`, the unoccluded input first). */
export function occlusionMapFrom(probabilities: Float32Array, classes: number, origins: readonly number[], patch: number, side = IMAGE_SIDE): OcclusionMap {
  let classIndex = 0;
  for (let c = 1; c < classes; c += 1) if ((probabilities[c] ?? -Infinity) > (probabilities[classIndex] ?? -Infinity)) classIndex = c;
  const probability = probabilities[classIndex] ?? 0;
  const sum = new Float32Array(side * side);
  const covered = new Uint16Array(side * side);
  let copy = 1;
  for (const top of origins) {
    for (const left of origins) {
      const drop = probability - (probabilities[copy * classes + classIndex] ?? 0);
      for (let y = top; y < top + patch; y += 1) {
        for (let x = left; x < left + patch; x += 1) {
          sum[y * side + x]! += drop;
          covered[y * side + x]! += 1;
        }
      }
      copy += 1;
    }
  }
  const map = new Float32Array(side * side);
  for (let i = 0; i < map.length; i += 1) map[i] = covered[i] ? sum[i]! / covered[i]! : 0;
  return { classIndex, probability, map };
}

/**
 * Occlusion maps for `count` inputs (`pixels`: count × 784 in [0, 1]), one batched prediction of
 * the input and its occluded copies per image. `predict(batch, rows)` answers rows × classes.
 */
export async function occlusionMaps(
  predict: (batch: Float32Array, rows: number) => Promise<Float32Array>,
  pixels: Float32Array,
  options: OcclusionOptions,
  classes = 10,
): Promise<OcclusionMap[]> {
  const origins = patchOrigins(IMAGE_SIDE, options.patch, options.stride);
  const maps: OcclusionMap[] = [];
  for (let start = 0; start < pixels.length; start += PIXELS_PER_IMAGE) {
    const copies = occludedCopies(pixels.subarray(start, start + PIXELS_PER_IMAGE), origins, options.patch);
    const rows = copies.length / PIXELS_PER_IMAGE;
    maps.push(occlusionMapFrom(await predict(copies, rows), classes, origins, options.patch));
  }
  return maps;
}

/** The same with a tfjs model (the engine worker's): every intermediate tensor is disposed. */
export function occlusionMapsOfModel(tf: Tf, model: tfType.LayersModel, pixels: Float32Array, options: OcclusionOptions): Promise<OcclusionMap[]> {
  const classes = (model.outputs[0]?.shape[1] as number | undefined) ?? 10;
  return occlusionMaps(
    (batch, rows) => predictProbabilities(tf, model, rows, (start, end) => batch.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE), { classes }),
    pixels,
    options,
    classes,
  );
}
