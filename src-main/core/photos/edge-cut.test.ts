import { describe, expect, it } from 'vitest';
import { seededRandom } from './augment';
import { cutAtEdges } from './edge-cut';
import { inputBox } from './test-helpers';

/** A T-shirt-like shape: a body with two sleeves, columns 2..25, rows 3..24. */
function tshirt(): Uint8Array {
  const image = new Uint8Array(784);
  for (let y = 3; y < 25; y++) for (let x = 8; x < 20; x++) image[y * 28 + x] = 180 + ((x * 7 + y * 3) % 60);
  for (let y = 3; y < 11; y++) for (let x = 2; x < 26; x++) image[y * 28 + x] = 200;
  return image;
}

const lit = (image: Uint8Array): number => image.filter((v) => v > 5).length;

describe('cutAtEdges', () => {
  it('keeps the framing of the photo pipeline: longest side 28, brightest 255', () => {
    const random = seededRandom(4);
    for (let i = 0; i < 40; i++) {
      const cut = cutAtEdges(tshirt(), random);
      expect(Math.max(...cut)).toBe(255);
      const box = inputBox(Float32Array.from(cut, (v) => v / 255), 0.02);
      expect(Math.max(box.width, box.height)).toBe(28);
    }
  });

  it('loses part of the garment: what is left, scaled back to the frame, differs from the whole', () => {
    const random = seededRandom(9);
    const whole = tshirt();
    let sleeveless = 0;
    for (let i = 0; i < 60; i++) {
      const cut = cutAtEdges(whole, random);
      expect(cut).not.toEqual(whole);
      // A cut at the left or right takes a sleeve away: the shape gets blunter (fills more of its box).
      const box = inputBox(Float32Array.from(cut, (v) => v / 255), 0.02);
      if (lit(cut) / (box.width * box.height) > lit(whole) / (24 * 22) + 0.05) sleeveless += 1;
    }
    expect(sleeveless).toBeGreaterThan(10);
  });

  it('is a function of the random stream; an empty image stays empty', () => {
    expect(cutAtEdges(tshirt(), seededRandom(1))).toEqual(cutAtEdges(tshirt(), seededRandom(1)));
    expect(Math.max(...cutAtEdges(new Uint8Array(784), seededRandom(1)))).toBe(0);
  });
});
