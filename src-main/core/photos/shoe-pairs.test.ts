import { describe, expect, it } from 'vitest';
import { seededRandom } from './augment';
import { labelRegions } from './morphology';
import { shoePair } from './shoe-pairs';
import { inputBox } from './test-helpers';

/** A side-view "sneaker": a long low sole with a higher heel part, toe to the left. */
function sneaker(): Uint8Array {
  const image = new Uint8Array(784);
  for (let y = 14; y < 22; y++) for (let x = 1; x < 27; x++) image[y * 28 + x] = 200;
  for (let y = 8; y < 14; y++) for (let x = 14; x < 26; x++) image[y * 28 + x] = 170;
  return image;
}

/** 8-connected bright regions of a 28×28 image. */
function regions(image: Uint8Array): number[] {
  const mask = { width: 28, height: 28, data: image.map((v) => (v > 40 ? 1 : 0)) };
  return labelRegions(mask).sizes.filter((size) => size > 8);
}

describe('shoePair', () => {
  it('is a framed 28×28 image: longest side 28, brightest pixel 255, black around', () => {
    const random = seededRandom(1);
    for (let i = 0; i < 50; i++) {
      const pair = shoePair(sneaker(), random);
      expect(pair.length).toBe(784);
      expect(Math.max(...pair)).toBe(255);
      const box = inputBox(Float32Array.from(pair, (v) => v / 255), 0.02);
      expect(Math.max(box.width, box.height)).toBe(28);
      // Black around the shoes, as after the photo pipeline.
      expect(pair.filter((v) => v === 0).length).toBeGreaterThan(784 * 0.15);
    }
  });

  it('shows two shoes: mostly two separate shoes from above, the rest overlapping from the side', () => {
    const random = seededRandom(7);
    let two = 0;
    let wider = 0;
    for (let i = 0; i < 100; i++) {
      const pair = shoePair(sneaker(), random);
      if (regions(pair).length >= 2) two += 1;
      const box = inputBox(Float32Array.from(pair, (v) => v / 255), 0.02);
      if (box.width > box.height) wider += 1;
    }
    // From above (60 %) two tall shoes side by side, usually with a gap between them.
    expect(two).toBeGreaterThan(25);
    // A single side-view sneaker is wide; a pair from above is about as wide as tall or wider, so not all are tall.
    expect(wider).toBeGreaterThan(20);
  });

  it('is a function of the random stream', () => {
    const a = shoePair(sneaker(), seededRandom(3));
    const b = shoePair(sneaker(), seededRandom(3));
    expect(b).toEqual(a);
    const others = Array.from({ length: 5 }, (_, i) => shoePair(sneaker(), seededRandom(10 + i)));
    expect(others.some((other) => !other.every((v, i) => v === a[i]))).toBe(true);
  });

  it('an empty image stays empty', () => {
    expect(Math.max(...shoePair(new Uint8Array(784), seededRandom(2)))).toBe(0);
  });
});
