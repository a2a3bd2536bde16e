import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FloatImage, Mask, RgbaImage } from './image.js';
import { boxBlur, estimateBackground, otsuThreshold, percentile } from './background.js';
import { toGray, toLab } from './colour.js';
import { centreOnCanvas, crop, fitLongestSide, normaliseToBytes, resizeArea } from './geometry.js';
import { negateGarment, stretchContrast } from './intensity.js';
import { boundingBox, closeMask, coverage, dilate, erode, fillHoles, largestRegion, openMask } from './morphology.js';
import { preprocessPhoto } from './preprocess.js';
import { downscaleRgba, resizeMask, separateGarment } from './separate.js';
import { asymmetricShirt, inShape, inputBox, syntheticPhoto } from './test-helpers.js';
import type { Shape } from './test-helpers.js';

const maskFrom = (rows: string[]): Mask => {
  const height = rows.length;
  const width = rows[0]!.length;
  const data = new Uint8Array(width * height);
  rows.forEach((row, y) => [...row].forEach((c, x) => (data[y * width + x] = c === '#' ? 1 : 0)));
  return { width, height, data };
};
const rowsOf = (mask: Mask): string[] =>
  Array.from({ length: mask.height }, (_, y) => Array.from(mask.data.subarray(y * mask.width, (y + 1) * mask.width), (v) => (v ? '#' : '.')).join(''));

const rect = (x: number, y: number, w: number, h: number): Shape => ({ rects: [{ x, y, w, h }] });

describe('colour', () => {
  it('toGray uses BT.601 luma and composites transparency over the matte', () => {
    const image: RgbaImage = { width: 4, height: 1, data: Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128]) };
    expect(Array.from(toGray(image).data)).toEqual([76, 150, 255, 127]);
    expect(toGray(image, 0).data[2]).toBe(0);
  });

  it('toLab matches reference CIELAB values', () => {
    const image: RgbaImage = { width: 3, height: 1, data: Uint8Array.from([255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255]) };
    const lab = toLab(image).data;
    expect(lab[0]).toBeCloseTo(100, 1);
    expect(Math.abs(lab[1]!)).toBeLessThan(0.05);
    expect(lab[3]).toBeCloseTo(0, 3);
    // sRGB red: L 53.24, a 80.09, b 67.20
    expect(lab[6]).toBeCloseTo(53.24, 1);
    expect(lab[7]).toBeCloseTo(80.09, 1);
    expect(lab[8]).toBeCloseTo(67.2, 1);
  });

  it('estimateBackground finds the floor colour and ignores a sleeve that touches the edge', () => {
    const photo = syntheticPhoto({ width: 100, height: 80, background: [120, 80, 40], garment: [20, 20, 200], shape: { rects: [{ x: 30, y: 0, w: 10, h: 60 }] }, noise: 0 });
    const lab = toLab(photo);
    const model = estimateBackground(lab);
    const floor = toLab({ width: 1, height: 1, data: Uint8Array.from([120, 80, 40, 255]) }).data;
    expect(model.spreads.length).toBe(1);
    for (let j = 0; j < 3; j += 1) expect(model.centres[j]).toBeCloseTo(floor[j]!, 3);
  });
});

describe('thresholds and statistics', () => {
  it('otsuThreshold splits two clusters between them', () => {
    const values = [...Array.from({ length: 300 }, (_, i) => 10 + (i % 7)), ...Array.from({ length: 100 }, (_, i) => 200 + (i % 5))];
    const t = otsuThreshold(values);
    expect(t).toBeGreaterThan(16);
    expect(t).toBeLessThan(200);
    expect(otsuThreshold([5, 5, 5])).toBe(5);
  });

  it('percentile reads quantiles from a histogram', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => i / 10);
    expect(percentile(values, 0.5, 100)).toBeCloseTo(50, 0);
    expect(percentile(values, 0.99, 100)).toBeCloseTo(99, 0);
  });

  it('boxBlur keeps a constant image constant and spreads a spike evenly', () => {
    const flat: FloatImage = { width: 7, height: 5, data: new Float32Array(35).fill(3) };
    expect(Array.from(boxBlur(flat, 2).data).every((v) => Math.abs(v - 3) < 1e-6)).toBe(true);
    const spike: FloatImage = { width: 5, height: 5, data: new Float32Array(25) };
    spike.data[12] = 9;
    const blurred = boxBlur(spike, 1).data;
    expect(blurred[12]).toBeCloseTo(1, 6);
    expect(blurred[6]).toBeCloseTo(1, 6);
    expect(blurred[0]).toBeCloseTo(0, 6);
  });
});

describe('morphology and regions', () => {
  it('opening removes a speck, closing bridges a one-pixel gap', () => {
    const speck = maskFrom(['.......', '.###...', '.###.#.', '.###...', '.......']);
    expect(rowsOf(openMask(speck, 1))).toEqual(['.......', '.###...', '.###...', '.###...', '.......']);
    const gap = maskFrom(['.......', '.##.##.', '.##.##.', '.##.##.', '.......']);
    expect(rowsOf(closeMask(gap, 1))).toEqual(['.......', '.#####.', '.#####.', '.#####.', '.......']);
  });

  it('outside the image is background, yet closing does not glue a garment to the edge or drop it', () => {
    const edge = maskFrom(['###....', '###....', '###....', '###....', '###....']);
    expect(rowsOf(erode(edge, 1))).toEqual(['.......', '.#.....', '.#.....', '.#.....', '.......']);
    expect(rowsOf(openMask(edge, 1))).toEqual(rowsOf(edge));
    expect(rowsOf(closeMask(edge, 1))).toEqual(rowsOf(edge));
  });

  const arbitraryMask = fc
    .record({ width: fc.integer({ min: 1, max: 12 }), height: fc.integer({ min: 1, max: 12 }), seed: fc.array(fc.boolean(), { minLength: 144, maxLength: 144 }) })
    .map(({ width, height, seed }): Mask => ({ width, height, data: Uint8Array.from({ length: width * height }, (_, i) => (seed[i] ? 1 : 0)) }));
  const subset = (a: Mask, b: Mask): boolean => a.data.every((v, i) => v <= b.data[i]!);

  it('erosion ⊆ opening ⊆ mask ⊆ closing ⊆ dilation, and opening and closing are idempotent', () => {
    fc.assert(
      fc.property(arbitraryMask, fc.integer({ min: 1, max: 3 }), (mask, r) => {
        const opened = openMask(mask, r);
        const closed = closeMask(mask, r);
        expect(subset(erode(mask, r), opened)).toBe(true);
        expect(subset(opened, mask)).toBe(true);
        expect(subset(mask, closed)).toBe(true);
        expect(subset(closed, dilate(mask, r))).toBe(true);
        expect(openMask(opened, r).data).toEqual(opened.data);
        expect(closeMask(closed, r).data).toEqual(closed.data);
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('largestRegion keeps the biggest 8-connected region (diagonals connect)', () => {
    const mask = maskFrom(['##.....#', '##....#.', '.....#..', '....#...', '#..#....']);
    expect(rowsOf(largestRegion(mask))).toEqual(['.......#', '......#.', '.....#..', '....#...', '...#....']);
    expect(coverage(largestRegion(maskFrom(['...', '...'])))).toBe(0);
  });

  it('fillHoles fills enclosed background but not a notch open to the border', () => {
    const ring = maskFrom(['.....', '.###.', '.#.#.', '.###.', '.....']);
    expect(rowsOf(fillHoles(ring))).toEqual(['.....', '.###.', '.###.', '.###.', '.....']);
    const notch = maskFrom(['##.##', '##.##', '#####']);
    expect(rowsOf(fillHoles(notch))).toEqual(rowsOf(notch));
  });

  it('boundingBox is inclusive-exclusive; undefined when empty', () => {
    expect(boundingBox(maskFrom(['....', '.##.', '..#.', '....']))).toEqual({ x0: 1, y0: 1, x1: 3, y1: 3 });
    expect(boundingBox(maskFrom(['..', '..']))).toBeUndefined();
  });

  it('resizeMask maps nearest pixels both ways', () => {
    const small = maskFrom(['#.', '.#']);
    expect(rowsOf(resizeMask(small, 4, 4))).toEqual(['##..', '##..', '..##', '..##']);
    expect(rowsOf(resizeMask(resizeMask(small, 4, 4), 2, 2))).toEqual(rowsOf(small));
  });
});

describe('intensity', () => {
  it('negateGarment inverts inside the mask and leaves black outside', () => {
    const gray = { width: 3, height: 1, data: Uint8Array.from([10, 200, 255]) };
    const mask = maskFrom(['##.']);
    expect(Array.from(negateGarment(gray, mask).data)).toEqual([245, 55, 0]);
  });

  it('stretchContrast maps the garment to end at 255, keeps the background 0 and caps the gain', () => {
    const image = { width: 4, height: 1, data: Uint8Array.from([100, 150, 200, 90]) };
    const mask = maskFrom(['###.']);
    expect(Array.from(stretchContrast(image, mask).data)).toEqual([0, 128, 255, 0]);
    // A nearly plain garment (values 100..104) stays a bright silhouette instead of amplified noise.
    const plain = { width: 3, height: 1, data: Uint8Array.from([100, 102, 104]) };
    expect(Array.from(stretchContrast(plain, maskFrom(['###']), 4).data)).toEqual([239, 247, 255]);
  });

  it('normaliseToBytes brings the maximum to 255 and keeps zeros', () => {
    expect(Array.from(normaliseToBytes({ width: 3, height: 1, data: Float32Array.from([0, 0.5, 2]) }))).toEqual([0, 64, 255]);
    expect(Array.from(normaliseToBytes({ width: 2, height: 1, data: new Float32Array(2) }))).toEqual([0, 0]);
  });
});

describe('geometry', () => {
  it('resizeArea averages blocks, keeps constants and preserves mean brightness at any ratio', () => {
    const image = { width: 4, height: 2, data: Uint8Array.from([0, 4, 8, 8, 4, 0, 8, 8]) };
    expect(Array.from(resizeArea(image, 2, 1).data)).toEqual([2, 8]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 28 }), fc.integer({ min: 1, max: 28 }), (w, h, ow, oh) => {
        const src = { width: w, height: h, data: Uint8Array.from({ length: w * h }, (_, i) => (i * 37) % 256) };
        const out = resizeArea(src, ow, oh);
        const mean = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
        expect(mean(out.data)).toBeCloseTo(mean(src.data), 2);
        const flat = resizeArea({ width: w, height: h, data: new Uint8Array(w * h).fill(77) }, ow, oh);
        expect(Array.from(flat.data).every((v) => Math.abs(v - 77) < 1e-3)).toBe(true);
      }),
      { numRuns: 150, seed: 11 },
    );
  });

  it('fitLongestSide keeps the aspect ratio with the longest side at the box', () => {
    expect(fitLongestSide(200, 100, 28)).toEqual({ width: 28, height: 14 });
    expect(fitLongestSide(100, 300, 28)).toEqual({ width: 9, height: 28 });
    expect(fitLongestSide(1000, 1, 28)).toEqual({ width: 28, height: 1 });
  });

  it('centreOnCanvas centres the bounding box', () => {
    const out = centreOnCanvas({ width: 10, height: 28, data: new Float32Array(280).fill(1) });
    const box = inputBox(out.data, 0.5);
    expect(box).toMatchObject({ x0: 9, x1: 18, y0: 0, y1: 27 });
  });

  it('crop copies the box', () => {
    const image = { width: 3, height: 3, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
    expect(Array.from(crop(image, { x0: 1, y0: 1, x1: 3, y1: 3 }).data)).toEqual([5, 6, 8, 9]);
  });

  it('downscaleRgba averages colour weighted by alpha', () => {
    const image: RgbaImage = { width: 2, height: 1, data: Uint8Array.from([200, 100, 0, 255, 0, 0, 0, 0]) };
    const small = downscaleRgba(image, 1);
    expect(Array.from(small.data)).toEqual([200, 100, 0, 128]);
    expect(downscaleRgba(image, 5)).toBe(image);
  });
});

describe('separateGarment and preprocessPhoto on synthetic scenes', () => {
  /**
   * Share of the known garment pixels inside the mask, and of background pixels outside it.
   * The mask is pulled in by a guard band on purpose, so the first share is a little lower.
   */
  function agreement(shape: Shape, mask: Mask): { garment: number; background: number } {
    let g = 0;
    let gIn = 0;
    let b = 0;
    let bOut = 0;
    for (let y = 0; y < mask.height; y += 1) {
      for (let x = 0; x < mask.width; x += 1) {
        const on = mask.data[y * mask.width + x] === 1;
        if (inShape(shape, x, y)) {
          g += 1;
          if (on) gIn += 1;
        } else {
          b += 1;
          if (!on) bOut += 1;
        }
      }
    }
    return { garment: gIn / g, background: bOut / b };
  }

  /** Mean of the 28×28 input inside and outside its bounding box. */
  function inputStats(input: Float32Array): { box: ReturnType<typeof inputBox>; inside: number; outside: number } {
    const box = inputBox(input, 0.05);
    let inside = 0;
    let nIn = 0;
    let outside = 0;
    let nOut = 0;
    for (let y = 0; y < 28; y += 1) {
      for (let x = 0; x < 28; x += 1) {
        const v = input[y * 28 + x]!;
        if (x >= box.x0 && x <= box.x1 && y >= box.y0 && y <= box.y1) {
          inside += v;
          nIn += 1;
        } else {
          outside += v;
          nOut += 1;
        }
      }
    }
    return { box, inside: inside / nIn, outside: nOut ? outside / nOut : 0 };
  }

  it('a light rectangle on a dark floor: found, 28 tall, right aspect, centred, light on black', () => {
    const shape = rect(70, 30, 60, 100); // 0.6 wide per 1 tall
    const photo = syntheticPhoto({ width: 200, height: 160, background: [50, 40, 35], garment: [225, 220, 210], shape, noise: 8 });
    const mask = separateGarment(photo).mask;
    const { garment, background } = agreement(shape, mask);
    expect(garment).toBeGreaterThan(0.85);
    expect(background).toBeGreaterThan(0.99);
    const result = preprocessPhoto({ image: photo });
    expect(result.foundGarment).toBe(true);
    expect(result.input.length).toBe(784);
    const { box, inside, outside } = inputStats(result.input);
    expect(box.height).toBe(28);
    expect(box.width).toBeGreaterThanOrEqual(16);
    expect(box.width).toBeLessThanOrEqual(18);
    expect(Math.abs(box.cx - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(box.cy - 13.5)).toBeLessThanOrEqual(0.5);
    expect(inside).toBeGreaterThan(0.75);
    expect(outside).toBe(0);
    expect(Math.max(...result.input)).toBe(1);
    expect(result.steps.final28.length).toBe(784);
    expect(result.steps.mask.width).toBe(photo.width);
  });

  it('a dark garment on a white wall comes out light on black', () => {
    const shape = asymmetricShirt(40, 30, 1.2);
    const photo = syntheticPhoto({ width: 200, height: 180, background: [240, 238, 235], garment: [30, 30, 45], shape, noise: 5 });
    const result = preprocessPhoto({ image: photo });
    expect(result.foundGarment).toBe(true);
    const { garment, background } = agreement(shape, result.steps.mask);
    expect(garment).toBeGreaterThan(0.85);
    expect(background).toBeGreaterThan(0.99);
    const { box, inside, outside } = inputStats(result.input);
    expect(box.width).toBe(28); // the shirt is wider (108 px) than tall (84 px)
    expect(box.height).toBeGreaterThanOrEqual(21);
    expect(box.height).toBeLessThanOrEqual(23);
    expect(inside).toBeGreaterThan(0.6);
    expect(outside).toBe(0);
  });

  it('an off-centre object lands centred', () => {
    const shape = rect(5, 8, 40, 50);
    const photo = syntheticPhoto({ width: 240, height: 200, background: [90, 130, 90], garment: [200, 60, 60], shape, noise: 6 });
    const result = preprocessPhoto({ image: photo });
    const { box } = inputStats(result.input);
    expect(box.height).toBe(28);
    expect(Math.abs(box.width - 22.4)).toBeLessThanOrEqual(1);
    expect(Math.abs(box.cx - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(box.cy - 13.5)).toBeLessThanOrEqual(0.5);
  });

  it('separates by colour when garment and floor have the same brightness', () => {
    // Red and green of equal luma: a gray-level threshold could not tell them apart.
    const shape = rect(50, 40, 80, 60);
    const photo = syntheticPhoto({ width: 180, height: 140, background: [40, 140, 40], garment: [200, 70, 70], shape, noise: 4 });
    const gray = toGray(photo).data;
    expect(Math.abs(gray[0]! - gray[(70 * 180 + 90)]!)).toBeLessThan(20);
    const { garment, background } = agreement(shape, separateGarment(photo).mask);
    expect(garment).toBeGreaterThan(0.85);
    expect(background).toBeGreaterThan(0.99);
  });

  it('uses the alpha channel of a cut-out', () => {
    const photo = syntheticPhoto({ width: 120, height: 100, background: [255, 255, 255], garment: [250, 250, 250], shape: rect(30, 20, 50, 60), noise: 0 });
    for (let i = 0; i < 120 * 100; i += 1) if (!inShape(rect(30, 20, 50, 60), i % 120, Math.floor(i / 120))) photo.data[i * 4 + 3] = 0;
    const result = preprocessPhoto({ image: photo });
    expect(result.foundGarment).toBe(true);
    expect(boundingBox(result.steps.mask)).toEqual({ x0: 30, y0: 20, x1: 80, y1: 80 });
  });

  it('reports when no garment stands out, and still gives a usable input', () => {
    const blank = syntheticPhoto({ width: 100, height: 80, background: [128, 128, 128], garment: [128, 128, 128], shape: rect(0, 0, 0, 0), noise: 0 });
    const result = preprocessPhoto({ image: blank });
    expect(result.foundGarment).toBe(false);
    expect(result.notes.length).toBeGreaterThan(0);
    expect(result.input.length).toBe(784);
    expect(result.input.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
  });

  it('degenerate sizes (1×1, a single row or column) still give a valid input', () => {
    for (const [width, height] of [[1, 1], [1, 50], [50, 1], [3, 3], [2, 300]] as const) {
      const photo = syntheticPhoto({ width, height, background: [10, 20, 30], garment: [200, 200, 200], shape: rect(0, 0, 1, 1), noise: 3 });
      const result = preprocessPhoto({ image: photo });
      expect(result.input.length, `${width}×${height}`).toBe(784);
      expect(result.input.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), `${width}×${height}`).toBe(true);
    }
  });

  it('a 26-pixel box leaves a margin', () => {
    const photo = syntheticPhoto({ width: 200, height: 160, background: [50, 40, 35], garment: [225, 220, 210], shape: rect(70, 30, 60, 100), noise: 8 });
    const { box } = inputStats(preprocessPhoto({ image: photo }, { box: 26 }).input);
    expect(box.height).toBe(26);
    expect(box.y0).toBe(1);
  });
});
