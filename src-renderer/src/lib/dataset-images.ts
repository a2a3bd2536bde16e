/**
 * 28×28 grayscale images as the Dataset view draws them: base64 from the contract to bytes, bytes
 * to `ImageData` (tutorial-style dark-on-white, or through a colour map), and the colour maps.
 */

import { IMAGE_SIDE } from '../../../src-main/core/fashion-mnist';

/** The contract's base64 pixel block as bytes. */
export function decodePixels(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** 256 RGB triples, one per pixel value. */
export type ColourMap = Uint8ClampedArray;

/**
 * matplotlib's viridis, which the tutorial's `plt.imshow` + `plt.colorbar()` shows: perceptually
 * even and readable in grayscale. Ten published stops, linearly interpolated to 256 entries.
 */
const VIRIDIS_STOPS = ['#440154', '#482878', '#3e4a89', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6dcd59', '#b4de2c', '#fde725'];

function buildMap(stops: readonly string[]): ColourMap {
  const rgb = stops.map((hex) => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16)));
  const map = new Uint8ClampedArray(256 * 3);
  for (let value = 0; value < 256; value++) {
    const position = (value / 255) * (rgb.length - 1);
    const low = Math.min(Math.floor(position), rgb.length - 2);
    const t = position - low;
    for (let channel = 0; channel < 3; channel++) {
      const a = rgb[low]![channel]!;
      const b = rgb[low + 1]![channel]!;
      map[value * 3 + channel] = Math.round(a + (b - a) * t);
    }
  }
  return map;
}

export const VIRIDIS: ColourMap = buildMap(VIRIDIS_STOPS);
/** Plain grayscale: 0 black, 255 white (how the bytes are stored). */
export const GRAY: ColourMap = buildMap(['#000000', '#ffffff']);
/** The tutorial's `cmap=plt.cm.binary`: 0 white, 255 black (dark clothes on white). */
export const BINARY: ColourMap = buildMap(['#ffffff', '#000000']);

/** The CSS colour of one value under a map, e.g. for a legend. */
export function colourOf(map: ColourMap, value: number): string {
  const at = Math.max(0, Math.min(255, Math.round(value))) * 3;
  return `rgb(${map[at]}, ${map[at + 1]}, ${map[at + 2]})`;
}

/** Paint `width × height` pixel values (row-major) into an RGBA buffer through a colour map. */
export function toRgba(pixels: Uint8Array, map: ColourMap, target: Uint8ClampedArray): void {
  for (let index = 0; index < pixels.length; index++) {
    const at = (pixels[index] ?? 0) * 3;
    target[index * 4] = map[at]!;
    target[index * 4 + 1] = map[at + 1]!;
    target[index * 4 + 2] = map[at + 2]!;
    target[index * 4 + 3] = 255;
  }
}

/** Draw one image onto a canvas whose size is the image's (28×28); CSS scales it up. */
export function paintImage(canvas: HTMLCanvasElement, pixels: Uint8Array | null, map: ColourMap): void {
  const context = canvas.getContext('2d');
  if (!context) return;
  if (!pixels) {
    context.clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  const image = context.createImageData(canvas.width, canvas.height);
  toRgba(pixels, map, image.data);
  context.putImageData(image, 0, 0);
}

/** A 1-pixel-wide, 256-tall strip of the colour map, 255 at the top, for a colour bar. */
export function paintColourBar(canvas: HTMLCanvasElement, map: ColourMap): void {
  const values = new Uint8Array(256);
  for (let row = 0; row < 256; row++) values[row] = 255 - row;
  paintImage(canvas, values, map);
}

/** Which pixel of a `side × side` image a point over its scaled-up drawing falls on, or null outside. */
export function pixelAt(x: number, y: number, drawnSize: number, side = IMAGE_SIDE): { x: number; y: number } | null {
  if (drawnSize <= 0 || x < 0 || y < 0 || x >= drawnSize || y >= drawnSize) return null;
  return { x: Math.min(side - 1, Math.floor((x / drawnSize) * side)), y: Math.min(side - 1, Math.floor((y / drawnSize) * side)) };
}
