import { describe, expect, it } from 'vitest';
import { adjustTones, affine, augmentPhotoLike, blur, garmentNoise, gaussian, refit, seededRandom } from './augment.js';
import { inputBox } from './test-helpers.js';

/** A 28×28 "garment": a bright block in rows 4..23, columns 9..18, with a gradient. */
function block(): Float32Array {
  const image = new Float32Array(784);
  for (let y = 4; y < 24; y += 1) for (let x = 9; x < 19; x += 1) image[y * 28 + x] = 0.5 + (x - 9) / 20;
  return image;
}

const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0);

describe('seeded randomness', () => {
  it('the same seed gives the same sequence; different seeds differ', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const sa = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(sa);
    expect(Array.from({ length: 5 }, c)).not.toEqual(sa);
    expect(sa.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('gaussian draws have mean ≈ 0 and variance ≈ 1', () => {
    const random = seededRandom(1);
    const draws = Array.from({ length: 20_000 }, () => gaussian(random));
    const mean = sum(draws) / draws.length;
    const variance = sum(draws.map((v) => (v - mean) ** 2)) / draws.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });
});

describe('geometric steps', () => {
  it('the identity affine leaves the image unchanged; a double flip too', () => {
    const image = block();
    expect(Array.from(affine(image, {}))).toEqual(Array.from(image));
    const flipped = affine(image, { flip: true });
    expect(Array.from(flipped)).not.toEqual(Array.from(image));
    expect(Array.from(affine(flipped, { flip: true }))).toEqual(Array.from(image));
  });

  it('a flip mirrors columns and a shift moves the garment by whole pixels', () => {
    const image = block();
    const flipped = affine(image, { flip: true });
    expect(flipped[10 * 28 + (27 - 9)]).toBeCloseTo(image[10 * 28 + 9]!, 6);
    const shifted = affine(image, { shiftX: 3, shiftY: -2 });
    expect(shifted[(10 - 2) * 28 + 12]).toBeCloseTo(image[10 * 28 + 9]!, 6);
  });

  it('a 90° rotation turns a tall garment wide', () => {
    const box = inputBox(affine(block(), { angle: 90 }), 0.25);
    expect(box.width).toBe(20);
    expect(box.height).toBe(10);
  });

  it('scale and aspect change the bounding box as asked', () => {
    const smaller = inputBox(affine(block(), { scale: 0.5 }), 0.25);
    expect(smaller.height).toBeGreaterThanOrEqual(9);
    expect(smaller.height).toBeLessThanOrEqual(11);
    const wider = inputBox(affine(block(), { aspect: 1.44 }), 0.25);
    expect(wider.width).toBeGreaterThanOrEqual(11);
    expect(wider.height).toBeLessThanOrEqual(18);
  });

  it('refit puts the longest side at 28 and centres the bounding box, as preprocessPhoto does', () => {
    const off = affine(block(), { scale: 0.6, shiftX: 5, shiftY: 4 });
    const box = inputBox(refit(off), 0.05);
    expect(box.height).toBe(28);
    expect(Math.abs(box.cx - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(box.cy - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Array.from(refit(new Float32Array(784)))).toEqual(Array.from(new Float32Array(784)));
  });
});

describe('tone, blur and noise steps', () => {
  it('adjustTones keeps the background black and the maximum at 1', () => {
    const out = adjustTones(block(), { gamma: 0.6, contrast: 1.3 });
    expect(out[0]).toBe(0);
    expect(Math.max(...out)).toBeCloseTo(1, 6);
    expect(out.every((v, i) => (block()[i]! > 0) === (v > 0))).toBe(true);
  });

  it('blur keeps the total brightness (away from the edges) and softens the edge', () => {
    const image = block();
    const soft = blur(image, 1);
    expect(sum(soft)).toBeCloseTo(sum(image), 1);
    expect(soft[10 * 28 + 8]!).toBeGreaterThan(0);
    expect(Array.from(blur(image, 0))).toEqual(Array.from(image));
  });

  it('garmentNoise changes the garment only, within [0, 1]', () => {
    const image = block();
    const noisy = garmentNoise(image, 0.3, seededRandom(5));
    expect(noisy.every((v, i) => (image[i] === 0 ? v === 0 : v >= 0 && v <= 1))).toBe(true);
    expect(Array.from(noisy)).not.toEqual(Array.from(image));
  });
});

describe('augmentPhotoLike', () => {
  it('is deterministic for a seed, keeps the type and range, and varies between seeds', () => {
    const bytes = Uint8Array.from(block(), (v) => Math.round(v * 255));
    const a = augmentPhotoLike(bytes, seededRandom(9));
    const b = augmentPhotoLike(bytes, seededRandom(9));
    const c = augmentPhotoLike(bytes, seededRandom(10));
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(784);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const floats = augmentPhotoLike(block(), seededRandom(9));
    expect(floats).toBeInstanceOf(Float32Array);
    expect(floats.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('keeps the garment recognisable: most of it stays inside the frame and the background stays mostly black', () => {
    const image = block();
    const random = seededRandom(123);
    for (let i = 0; i < 200; i += 1) {
      const out = augmentPhotoLike(image, random);
      const lit = out.filter((v) => v > 0.1).length;
      expect(lit, `sample ${i}`).toBeGreaterThan(100);
      expect(lit, `sample ${i}`).toBeLessThan(600);
    }
  });

  it('with every range closed it is the identity', () => {
    const image = block();
    const none = { maxAngle: 0, scale: [1, 1] as const, maxAspect: 1, maxShift: 0, flip: 0, refit: 0, gamma: [1, 1] as const, contrast: [1, 1] as const, blur: 0, maxNoise: 0 };
    const out = augmentPhotoLike(image, seededRandom(3), none);
    for (let i = 0; i < 784; i += 1) expect(out[i]).toBeCloseTo(image[i]! / Math.max(...image), 5);
  });
});
