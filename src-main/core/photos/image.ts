/**
 * Plain images the photo pipeline passes between its steps: row-major typed arrays, no
 * library objects, so every step is a pure function that is easy to test and to send
 * across IPC or a worker boundary as is.
 */

/** 8-bit RGBA, 4 bytes per pixel, row-major, straight (not premultiplied) alpha. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** 8-bit single-channel image, row-major. */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A binary mask: 1 where the garment is, 0 elsewhere. Same layout as `GrayImage`. */
export interface Mask {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Floating-point single-channel image (distance maps, intermediate resampling). */
export interface FloatImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** Inclusive-exclusive pixel box: columns `x0 ≤ x < x1`, rows `y0 ≤ y < y1`. */
export interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}
