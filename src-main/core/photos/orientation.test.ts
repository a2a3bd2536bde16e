import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodePhoto } from './decode.js';
import { preprocessPhoto } from './preprocess.js';
import { asymmetricShirt, syntheticPhoto } from './test-helpers.js';

/**
 * How to store pixels so that a viewer applying EXIF orientation `o` shows the upright
 * picture: the inverse of the orientation's display transform. Each step is materialised
 * separately because sharp applies rotate and flip/flop in its own fixed order.
 */
const STORE_FOR_ORIENTATION: Record<number, readonly ((s: sharp.Sharp) => sharp.Sharp)[]> = {
  1: [],
  2: [(s) => s.flop()],
  3: [(s) => s.rotate(180)],
  4: [(s) => s.flip()],
  5: [(s) => s.rotate(90), (s) => s.flop()], // transpose
  6: [(s) => s.rotate(270)],
  7: [(s) => s.rotate(270), (s) => s.flop()], // transverse
  8: [(s) => s.rotate(90)],
};

async function storedFor(png: Buffer, orientation: number): Promise<Buffer> {
  let bytes = png;
  for (const step of STORE_FOR_ORIENTATION[orientation] ?? []) bytes = await step(sharp(bytes)).png().toBuffer();
  // 4:4:4 and block-aligned sizes keep JPEG's artefacts nearly the same under rotation.
  return sharp(bytes).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).withMetadata({ orientation }).toBuffer();
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('EXIF orientation', () => {
  it('all eight orientations of one photo give the same 28×28 input', async () => {
    const upright = syntheticPhoto({ width: 160, height: 112, background: [40, 60, 90], garment: [230, 200, 120], shape: asymmetricShirt(25, 15), noise: 4 });
    const png = await sharp(upright.data, { raw: { width: 160, height: 112, channels: 4 } }).png().toBuffer();
    const inputs: Float32Array[] = [];
    for (let orientation = 1; orientation <= 8; orientation += 1) {
      const stored = await storedFor(png, orientation);
      const meta = await sharp(stored).metadata();
      expect(meta.orientation).toBe(orientation);
      // Orientations 5–8 store the picture on its side: the test really exercises the rotation.
      expect([meta.width, meta.height]).toEqual(orientation >= 5 ? [112, 160] : [160, 112]);
      const decoded = await decodePhoto(stored, { name: `orientation-${orientation}.jpg` });
      expect([decoded.image.width, decoded.image.height]).toEqual([160, 112]);
      inputs.push(preprocessPhoto(decoded).input);
    }
    const reference = inputs[0]!;
    expect(reference.some((v) => v > 0.5)).toBe(true);
    for (let i = 1; i < inputs.length; i += 1) {
      expect(meanAbsDiff(inputs[i]!, reference), `orientation ${i + 1}`).toBeLessThan(0.002);
      expect(maxAbsDiff(inputs[i]!, reference), `orientation ${i + 1}`).toBeLessThan(0.02);
    }
  });

  it('ignoring the orientation would change the input (the comparison above can fail)', async () => {
    const upright = syntheticPhoto({ width: 160, height: 112, background: [40, 60, 90], garment: [230, 200, 120], shape: asymmetricShirt(25, 15), noise: 4 });
    const png = await sharp(upright.data, { raw: { width: 160, height: 112, channels: 4 } }).png().toBuffer();
    const reference = preprocessPhoto(await decodePhoto(await storedFor(png, 1), { name: 'upright.jpg' })).input;
    for (const orientation of [2, 6]) {
      const stored = await storedFor(png, orientation);
      const withoutTag = await sharp(stored).withMetadata({ orientation: 1 }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
      const input = preprocessPhoto(await decodePhoto(withoutTag, { name: 'untagged.jpg' })).input;
      expect(meanAbsDiff(input, reference)).toBeGreaterThan(0.05);
    }
  });
});
