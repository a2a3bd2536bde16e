import { describe, expect, it } from 'vitest';
import { IMAGE_SIDE, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { framingOf, inputCellOnPhoto, mapOntoPhoto, photoPointToInput } from './framing';
import { preprocessPhoto } from './preprocess';
import { syntheticPhoto } from './test-helpers';

describe('framing: the 28×28 input back onto the photo', () => {
  // A 200×100 photo, a 80×40 crop at (60, 30): scaled by 28/80 to 28×14, centred at row 7.
  const framing = framingOf(200, 100, { x0: 60, y0: 30, x1: 140, y1: 70 }, { width: 28, height: 14 });

  it('records where the crop landed on the canvas', () => {
    expect(framing).toEqual({ photo: { width: 200, height: 100 }, crop: { x0: 60, y0: 30, x1: 140, y1: 70 }, placed: { x: 0, y: 7, width: 28, height: 14 } });
    expect(photoPointToInput(framing, 60, 30)).toEqual({ x: 0, y: 7 });
    expect(photoPointToInput(framing, 140, 70)).toEqual({ x: 28, y: 21 });
    expect(inputCellOnPhoto(framing, 0, 7)).toEqual({ x0: 60, y0: 30, x1: 60 + 80 / 28, y1: 30 + 40 / 14 });
  });

  it('draws a hot input cell on the photo rectangle it came from, nothing outside the crop', () => {
    const map = new Float32Array(PIXELS_PER_IMAGE);
    // Input cell (column 14, row 10): photo x 60 + 14·80/28 = 100 … 102.86, y 30 + 3·40/14 = 38.57 … 41.43.
    map[10 * IMAGE_SIDE + 14] = 1;
    // Background rows of the canvas (row 0) are outside the crop: never drawn.
    map[0] = 5;
    const onPhoto = mapOntoPhoto(framing, map, 200, 100);
    const hot = [...onPhoto.keys()].filter((i) => onPhoto[i] !== 0).map((i) => ({ x: i % 200, y: Math.floor(i / 200), value: onPhoto[i] }));
    expect(hot.map(({ x, y }) => `${x},${y}`).sort()).toEqual(['100,39', '100,40', '101,39', '101,40', '102,39', '102,40'].sort());
    expect(hot.every(({ value }) => value === 1)).toBe(true);
    // At half the size, the pixels whose centres (2x + 1, 2y + 1) fall in that rectangle.
    const half = mapOntoPhoto(framing, map, 100, 50);
    const halfHot = [...half.keys()].filter((i) => half[i] !== 0).map((i) => `${i % 100},${Math.floor(i / 100)}`);
    expect(halfHot).toEqual(['50,19', '50,20']);
  });

  it('preprocessing records the garment’s box as the crop and the canvas rectangle it was scaled to', () => {
    // A dark 60×120 garment at (70, 40) on a light 256×200 photo: cropped to it, scaled by 28/120.
    const photo = syntheticPhoto({ width: 256, height: 200, background: [235, 232, 228], garment: [40, 45, 60], shape: { rects: [{ x: 70, y: 40, w: 60, h: 120 }] }, noise: 4 });
    const { framing: recorded, steps } = preprocessPhoto({ image: photo });
    expect(recorded.photo).toEqual({ width: 256, height: 200 });
    // The separation pulls the outline in by about a pixel.
    expect(Math.abs(recorded.crop.x0 - 70)).toBeLessThanOrEqual(2);
    expect(Math.abs(recorded.crop.x1 - 130)).toBeLessThanOrEqual(2);
    expect(Math.abs(recorded.crop.y0 - 40)).toBeLessThanOrEqual(2);
    expect(Math.abs(recorded.crop.y1 - 160)).toBeLessThanOrEqual(2);
    expect(recorded.placed.height).toBe(28);
    expect(recorded.placed.width).toBe(Math.round(((recorded.crop.x1 - recorded.crop.x0) * 28) / (recorded.crop.y1 - recorded.crop.y0)));
    expect(recorded.placed.x).toBe(Math.floor((28 - recorded.placed.width) / 2));
    // Every lit input pixel lies inside the placed rectangle, and maps back inside the garment.
    for (let i = 0; i < PIXELS_PER_IMAGE; i += 1) {
      if (steps.final28[i] === 0) continue;
      const column = i % IMAGE_SIDE;
      const row = Math.floor(i / IMAGE_SIDE);
      expect(column).toBeGreaterThanOrEqual(recorded.placed.x);
      expect(column).toBeLessThan(recorded.placed.x + recorded.placed.width);
      const cell = inputCellOnPhoto(recorded, column, row);
      expect(cell.x0).toBeGreaterThanOrEqual(68);
      expect(cell.x1).toBeLessThanOrEqual(132);
    }
  });
});
