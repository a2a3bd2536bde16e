import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { PIXELS_PER_IMAGE } from '../../fashion-mnist';

/**
 * The first few Fashion-MNIST training images, for the training tests and the measurement
 * script of the wasm kernels. Deliberately small and separate from the dataset core: it reads
 * only the bytes it needs from the gzipped IDX files of Debian's `dataset-fashion-mnist`
 * (or `$FASHION_MNIST_DIR`).
 */

export const FASHION_MNIST_DIR = process.env.FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';

const IMAGES = 'train-images-idx3-ubyte.gz';
const LABELS = 'train-labels-idx1-ubyte.gz';

export function fashionMnistAvailable(dir = FASHION_MNIST_DIR): boolean {
  return existsSync(join(dir, IMAGES)) && existsSync(join(dir, LABELS));
}

/** The first `byteCount` bytes after decompressing `file` (stops reading once it has them). */
async function gunzipPrefix(file: string, byteCount: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  const gunzip = createReadStream(file).pipe(createGunzip());
  for await (const chunk of gunzip) {
    chunks.push(chunk as Buffer);
    have += (chunk as Buffer).length;
    if (have >= byteCount) break;
  }
  gunzip.destroy();
  const bytes = Buffer.concat(chunks);
  if (bytes.length < byteCount) {
    throw new Error(`${file}: expected at least ${byteCount} bytes after decompressing, got ${bytes.length} — the file is truncated`);
  }
  return bytes.subarray(0, byteCount);
}

export interface FashionMnistSample {
  /** count × 28 × 28 pixels scaled to [0, 1]. */
  images: Float32Array;
  /** Class indices 0–9 as float32 (sparse losses on wasm need float labels). */
  labels: Float32Array;
  count: number;
}

export async function readFashionMnistSample(count: number, dir = FASHION_MNIST_DIR): Promise<FashionMnistSample> {
  const imageFile = join(dir, IMAGES);
  const labelFile = join(dir, LABELS);
  const imageBytes = await gunzipPrefix(imageFile, 16 + count * PIXELS_PER_IMAGE);
  const labelBytes = await gunzipPrefix(labelFile, 8 + count);
  const header = (bytes: Buffer, i: number) => bytes.readUInt32BE(i * 4);
  if (header(imageBytes, 0) !== 0x803 || header(imageBytes, 2) !== 28 || header(imageBytes, 3) !== 28) {
    throw new Error(`${imageFile}: not an IDX file of 28×28 images (magic ${header(imageBytes, 0).toString(16)})`);
  }
  if (header(labelBytes, 0) !== 0x801) {
    throw new Error(`${labelFile}: not an IDX label file (magic ${header(labelBytes, 0).toString(16)})`);
  }
  const available = Math.min(header(imageBytes, 1), header(labelBytes, 1));
  if (count > available) throw new Error(`${dir}: asked for ${count} images, the files hold ${available}`);
  const images = new Float32Array(count * PIXELS_PER_IMAGE);
  for (let i = 0; i < images.length; i++) images[i] = imageBytes[16 + i]! / 255;
  const labels = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const label = labelBytes[8 + i]!;
    if (label > 9) throw new Error(`${labelFile}: label ${label} at ${i} is not a class 0–9`);
    labels[i] = label;
  }
  return { images, labels, count };
}
