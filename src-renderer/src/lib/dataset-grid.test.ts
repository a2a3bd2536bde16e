import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnsFor, gridWindow, moveByKey, pagesCovering, scrollToReveal, type GridSize } from './dataset-grid';
import { BINARY, GRAY, VIRIDIS, colourOf, decodePixels, pixelAt, toRgba } from './dataset-images';

const base: GridSize = { width: 700, height: 500, scrollTop: 0, total: 60_000, cellWidth: 80, cellHeight: 100, gap: 8, overscanRows: 0 };

describe('gridWindow', () => {
  it('at the top draws only the rows that fit, starting at image 0', () => {
    const window = gridWindow(base);
    expect(window.columns).toBe(Math.floor((700 + 8) / 88));
    expect(window.first).toBe(0);
    expect(window.last).toBe(Math.ceil(500 / 108) * window.columns);
    expect(window.rows).toBe(Math.ceil(60_000 / window.columns));
    expect(window.contentHeight).toBe(window.rows * 108 - 8);
  });

  it('at the bottom ends exactly at the last image', () => {
    const top = gridWindow(base);
    const window = gridWindow({ ...base, scrollTop: top.contentHeight - base.height });
    expect(window.last).toBe(60_000);
    expect(window.last - window.first).toBeLessThanOrEqual((Math.ceil(500 / 108) + 1) * window.columns);
  });

  it('for any size and scroll, draws a small window that covers everything visible (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 3 }),
        (total, width, height, fraction, overscanRows) => {
          const probe = gridWindow({ ...base, total, width, height, overscanRows });
          const scrollTop = Math.max(0, (probe.contentHeight - height) * fraction);
          const window = gridWindow({ ...base, total, width, height, scrollTop, overscanRows });
          expect(window.first).toBeGreaterThanOrEqual(0);
          expect(window.last).toBeLessThanOrEqual(total);
          expect(window.first).toBeLessThanOrEqual(window.last);
          expect(window.first % window.columns).toBe(0);
          // Every image whose row intersects the viewport is drawn.
          for (let row = 0; row < window.rows; row++) {
            const top = row * window.rowStride;
            const visible = top < scrollTop + height && top + base.cellHeight > scrollTop;
            if (!visible) continue;
            expect(window.first).toBeLessThanOrEqual(row * window.columns);
            expect(window.last).toBeGreaterThanOrEqual(Math.min(total, (row + 1) * window.columns));
          }
          // And no more than the visible rows plus overscan: the grid stays cheap at 70,000 images.
          const maxRows = Math.ceil(height / window.rowStride) + 1 + 2 * overscanRows;
          expect(window.last - window.first).toBeLessThanOrEqual(maxRows * window.columns);
        },
      ),
    );
  });

  it('an empty list draws nothing', () => {
    expect(gridWindow({ ...base, total: 0 })).toMatchObject({ rows: 0, contentHeight: 0, first: 0, last: 0 });
  });
});

describe('grid helpers', () => {
  it('columnsFor never answers fewer than one column', () => {
    expect(columnsFor(10, 80, 8)).toBe(1);
    expect(columnsFor(88 * 5 - 8, 80, 8)).toBe(5);
  });

  it('pagesCovering lists each page touched once', () => {
    expect(pagesCovering(0, 0, 256)).toEqual([]);
    expect(pagesCovering(0, 256, 256)).toEqual([0]);
    expect(pagesCovering(250, 600, 256)).toEqual([0, 1, 2]);
    expect(pagesCovering(59_990, 60_000, 256)).toEqual([234]);
  });

  it('scrollToReveal scrolls just enough, and not at all when the row shows', () => {
    expect(scrollToReveal(0, 8, 108, 100, 500, 0)).toBe(0);
    expect(scrollToReveal(8 * 10, 8, 108, 100, 500, 0)).toBe(10 * 108 + 100 - 500);
    expect(scrollToReveal(8 * 2, 8, 108, 100, 500, 1000)).toBe(2 * 108);
    expect(scrollToReveal(8 * 10, 8, 108, 100, 500, 1000)).toBe(1000);
  });

  it('moveByKey moves by one, by a row, by a page, to the ends, and stays inside the list', () => {
    expect(moveByKey('ArrowRight', 5, 8, 100, 4)).toBe(6);
    expect(moveByKey('ArrowLeft', 0, 8, 100, 4)).toBe(0);
    expect(moveByKey('ArrowDown', 5, 8, 100, 4)).toBe(13);
    expect(moveByKey('ArrowDown', 95, 8, 100, 4)).toBe(99);
    expect(moveByKey('ArrowUp', 5, 8, 100, 4)).toBe(0);
    expect(moveByKey('PageDown', 0, 8, 100, 4)).toBe(32);
    expect(moveByKey('End', 0, 8, 100, 4)).toBe(99);
    expect(moveByKey('Home', 50, 8, 100, 4)).toBe(0);
    expect(moveByKey('Enter', 5, 8, 100, 4)).toBeNull();
    expect(moveByKey('ArrowRight', 0, 8, 0, 4)).toBeNull();
  });
});

describe('dataset images', () => {
  it('decodePixels turns the contract base64 back into the bytes', () => {
    const bytes = Uint8Array.from({ length: 784 * 2 }, (_, i) => (i * 7) % 256);
    expect(decodePixels(btoa(String.fromCharCode(...bytes)))).toEqual(bytes);
  });

  it('colour maps run from their first colour at 0 to their last at 255', () => {
    expect(colourOf(VIRIDIS, 0)).toBe('rgb(68, 1, 84)');
    expect(colourOf(VIRIDIS, 255)).toBe('rgb(253, 231, 37)');
    expect(colourOf(GRAY, 0)).toBe('rgb(0, 0, 0)');
    expect(colourOf(GRAY, 128)).toBe('rgb(128, 128, 128)');
    expect(colourOf(BINARY, 255)).toBe('rgb(0, 0, 0)');
    expect(colourOf(VIRIDIS, 999)).toBe(colourOf(VIRIDIS, 255));
  });

  it('viridis gets lighter as values grow (so the colour bar reads in order)', () => {
    const luminance = (v: number): number => 0.2126 * VIRIDIS[v * 3]! + 0.7152 * VIRIDIS[v * 3 + 1]! + 0.0722 * VIRIDIS[v * 3 + 2]!;
    for (let v = 1; v < 256; v++) expect(luminance(v)).toBeGreaterThanOrEqual(luminance(v - 1) - 0.5);
  });

  it('toRgba writes one opaque RGBA pixel per value', () => {
    const target = new Uint8ClampedArray(8);
    toRgba(Uint8Array.from([0, 255]), GRAY, target);
    expect(Array.from(target)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
  });

  it('pixelAt maps a point over the scaled drawing to its pixel, and null outside', () => {
    expect(pixelAt(0, 0, 336)).toEqual({ x: 0, y: 0 });
    expect(pixelAt(335.9, 335.9, 336)).toEqual({ x: 27, y: 27 });
    expect(pixelAt(12 * 12 + 1, 5 * 12 + 11, 336)).toEqual({ x: 12, y: 5 });
    expect(pixelAt(-1, 5, 336)).toBeNull();
    expect(pixelAt(5, 336, 336)).toBeNull();
  });
});
