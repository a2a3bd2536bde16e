import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { collectPhotoPaths, decodePhoto } from './decode.js';
import { stepToDataUrl, stepToPng } from './png.js';
import { preprocessPhoto } from './preprocess.js';
import { inputBox } from './test-helpers.js';
import { realPhotoSet, TEST_PHOTOS_DIR, testPhoto } from './test-photos.js';

/** The whole development set when this machine has it (never copied into the repository). */
const realPhotos = realPhotoSet();
if (realPhotos.skipReason) console.warn(`Skipping the whole-development-set photo test: ${realPhotos.skipReason}.`);

/** Decode and preprocess each photo, check its input is framed like Fashion-MNIST; returns how many had a garment found. */
async function expectFramedInputs(paths: readonly string[]): Promise<number> {
  let found = 0;
  for (const path of paths) {
    const decoded = await decodePhoto(path);
    expect(Math.max(decoded.image.width, decoded.image.height), path).toBeLessThanOrEqual(256);
    const result = preprocessPhoto(decoded);
    expect(result.input.length).toBe(784);
    expect(Math.max(...result.input), path).toBe(1);
    const lit = result.input.filter((v) => v > 0.1).length;
    expect(lit, path).toBeGreaterThan(784 * 0.1);
    const box = inputBox(result.input, 0.02);
    expect(Math.max(box.width, box.height), path).toBe(28);
    if (result.foundGarment) found += 1;
  }
  return found;
}

describe('realPhotoSet', () => {
  it('is the folder ATELIER_REAL_PHOTOS names; skips with a reason when it is missing or set to none', () => {
    expect(realPhotoSet({ ATELIER_REAL_PHOTOS: TEST_PHOTOS_DIR })).toEqual({ dir: TEST_PHOTOS_DIR, skipReason: null });
    const missing = realPhotoSet({ ATELIER_REAL_PHOTOS: '/nonexistent/real-photos' });
    expect(missing.dir).toBeNull();
    expect(missing.skipReason).toContain('/nonexistent/real-photos');
    expect(missing.skipReason).toContain('ATELIER_REAL_PHOTOS');
    expect(realPhotoSet({ ATELIER_REAL_PHOTOS: 'none' })).toEqual({ dir: null, skipReason: expect.stringContaining('ATELIER_REAL_PHOTOS=none') });
  });
});

describe('real clothing photos in the repository', () => {
  it('each decodes and preprocesses into a non-empty, framed 28×28 input with its garment found', async () => {
    const { files, problems } = await collectPhotoPaths([TEST_PHOTOS_DIR]);
    expect(problems).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect(await expectFramedInputs(files)).toBe(files.length);
  });

  it('steps encode to PNGs of the right size for the UI', async () => {
    const result = preprocessPhoto(await decodePhoto(testPhoto('shoes')));
    const original = await sharp(await stepToPng(result.steps, 'original')).metadata();
    expect([original.format, original.width, original.height, original.channels]).toEqual(['png', result.steps.original.width, result.steps.original.height, 4]);
    const final = await sharp(await stepToPng(result.steps, 'final28', { scale: 4 })).metadata();
    expect([final.width, final.height, final.channels]).toEqual([112, 112, 1]);
    const separatedPng = await stepToPng(result.steps, 'separated');
    expect((await sharp(separatedPng).metadata()).channels).toBe(1);
    const separated = await sharp(separatedPng).extractChannel(0).raw().toBuffer();
    // Buffer equality, not toEqual: a failing deep diff of 65k numbers takes a minute to print.
    expect(separated.equals(Buffer.from(result.steps.separated.data))).toBe(true);
    const mask = await sharp(await stepToPng(result.steps, 'mask')).extractChannel(0).raw().toBuffer();
    expect(new Set(mask)).toEqual(new Set([0, 255]));
    expect(await stepToDataUrl(result.steps, 'final28')).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
  });
});

describe.skipIf(realPhotos.dir === null)(`the whole development set${realPhotos.skipReason ? ` (skipped: ${realPhotos.skipReason})` : ''}`, () => {
  it('a spread sample of 21 decodes and preprocesses into a non-empty, framed 28×28 input', async () => {
    const { files, problems } = await collectPhotoPaths([realPhotos.dir!]);
    expect(problems).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(21);
    // Every k-th photo of the sorted list: all folders, no hand-picking.
    const step = Math.floor(files.length / 21);
    const sample = Array.from({ length: 21 }, (_, i) => files[i * step]!);
    // A garment should stand out in nearly every one of these phone photos.
    expect(await expectFramedInputs(sample)).toBeGreaterThanOrEqual(19);
  });
});
