import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mirrorAndShift } from './mirror-shift';

const side = 28;
/** A generator that returns the given numbers in turn. */
const draws = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};
const image = (fill: (x: number, y: number) => number) => Uint8Array.from({ length: side * side }, (_, i) => fill(i % side, Math.floor(i / side)));
const at = (pixels: Uint8Array, x: number, y: number) => pixels[y * side + x]!;

describe('mirrorAndShift', () => {
  const options = { mirrorShare: 0.5, maxShift: 2 };

  it('leaves the image as it is when neither mirrored nor shifted', () => {
    const original = image((x, y) => (x * 7 + y * 3) % 256);
    // 0.9 ≥ 0.5: no mirror; 0.5 of 5 steps: shift 0 in both directions.
    expect(mirrorAndShift(original, draws(0.9, 0.5, 0.5), options)).toEqual(original);
  });

  it('mirrors left to right', () => {
    const original = image((x) => x);
    const mirrored = mirrorAndShift(original, draws(0.1, 0.5, 0.5), options);
    for (let x = 0; x < side; x++) expect(at(mirrored, x, 5)).toBe(side - 1 - x);
  });

  it('shifts by whole pixels and fills the uncovered border with 0', () => {
    const original = image((x, y) => 1 + ((x + 2 * y) % 200));
    // 0.99 of 5 steps → +2 right; 0.0 → −2 (up).
    const shifted = mirrorAndShift(original, draws(0.9, 0.99, 0.0), options);
    expect(at(shifted, 0, 0)).toBe(0);
    expect(at(shifted, 1, 10)).toBe(0);
    expect(at(shifted, 2, 0)).toBe(at(original, 0, 2));
    expect(at(shifted, 27, 25)).toBe(at(original, 25, 27));
    for (let x = 0; x < side; x++) expect(at(shifted, x, 26)).toBe(0);
  });

  it('keeps every pixel it shows from the original, and at most the shift is lost (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: side * side, maxLength: side * side }), fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true }), (pixels, m, a, b) => {
        const out = mirrorAndShift(pixels, draws(m, a, b), options);
        expect(out).toHaveLength(side * side);
        const dx = Math.floor(a * 5) - 2;
        const dy = Math.floor(b * 5) - 2;
        const zeroRows = Math.abs(dy) * side;
        const zeroColumns = Math.abs(dx) * (side - Math.abs(dy));
        const shown = side * side - zeroRows - zeroColumns;
        const nonzeroOut = out.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
        expect(nonzeroOut).toBeLessThanOrEqual(shown);
        const multiset = (values: Iterable<number>) => [...values].sort((p, q) => p - q).join(',');
        // Mirroring only permutes: with no shift the pixels are the same multiset.
        if (dx === 0 && dy === 0) expect(multiset(out)).toBe(multiset(pixels));
      }),
    );
  });
});
