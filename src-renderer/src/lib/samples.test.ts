import { describe, expect, it } from 'vitest';
import { PIXELS_PER_IMAGE } from '../../../src-main/core/fashion-mnist';
import { decodeSamples } from './samples';

const base64 = (bytes: Uint8Array): string => btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(''));

function page(images: number[][]) {
  const bytes = new Uint8Array(images.length * PIXELS_PER_IMAGE);
  images.forEach((image, position) => bytes.set(image, position * PIXELS_PER_IMAGE));
  return {
    total: images.length,
    offset: 0,
    items: images.map((_, index) => ({ index: index * 7, label: index, predicted: 9 - index, probabilities: Array.from({ length: 10 }, () => 0.1) })),
    pixels: base64(bytes),
  };
}

describe('decodeSamples', () => {
  it('gives each item its own 784 bytes, in order', () => {
    const first = Array.from({ length: PIXELS_PER_IMAGE }, (_, index) => index % 256);
    const second = Array.from({ length: PIXELS_PER_IMAGE }, (_, index) => 255 - (index % 256));
    const items = decodeSamples(page([first, second]));
    expect(items).toHaveLength(2);
    expect(Array.from(items[0]!.pixels)).toEqual(first);
    expect(Array.from(items[1]!.pixels)).toEqual(second);
    expect(items[1]).toMatchObject({ index: 7, label: 1, predicted: 8 });
  });

  it('refuses a pixel block that does not match the items', () => {
    const broken = { ...page([[1, 2, 3]]), pixels: base64(new Uint8Array(100)) };
    expect(() => decodeSamples(broken)).toThrow(/expected 784/);
  });

  it('handles an empty page', () => {
    expect(decodeSamples(page([]))).toEqual([]);
  });
});
