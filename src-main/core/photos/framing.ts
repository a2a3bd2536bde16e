/**
 * Where the model's 28×28 input came from in the photo: the crop box preprocessing cut from the
 * decoded photo, and the rectangle that crop landed on in the 28×28 canvas after scaling and
 * centring. With it, anything drawn over the input (a "why" heatmap) can be drawn over the photo.
 * Plain arithmetic, no Node: the renderer draws with the same functions the CLI writes PNGs with.
 */
import type { PhotoFraming } from '../../contract';
import { IMAGE_SIDE } from '../fashion-mnist';
import type { Box } from './image';

export type { PhotoFraming };

/**
 * The framing of a crop `box` of a `photoWidth × photoHeight` photo scaled to `fitted` and centred
 * on a `size`-pixel canvas the way `centreOnCanvas` does it (floor of half the free space).
 */
export function framingOf(photoWidth: number, photoHeight: number, box: Box, fitted: { width: number; height: number }, size = IMAGE_SIDE): PhotoFraming {
  return {
    photo: { width: photoWidth, height: photoHeight },
    crop: { x0: box.x0, y0: box.y0, x1: box.x1, y1: box.y1 },
    placed: { x: Math.floor((size - fitted.width) / 2), y: Math.floor((size - fitted.height) / 2), width: fitted.width, height: fitted.height },
  };
}

/** The input cell (column, row; may be off the canvas) a photo point falls on. */
export function photoPointToInput(framing: PhotoFraming, x: number, y: number): { x: number; y: number } {
  const { crop, placed } = framing;
  return {
    x: placed.x + ((x - crop.x0) * placed.width) / (crop.x1 - crop.x0),
    y: placed.y + ((y - crop.y0) * placed.height) / (crop.y1 - crop.y0),
  };
}

/** The photo rectangle (photo pixels, fractional) one input cell covers. */
export function inputCellOnPhoto(framing: PhotoFraming, column: number, row: number): { x0: number; y0: number; x1: number; y1: number } {
  const { crop, placed } = framing;
  const sx = (crop.x1 - crop.x0) / placed.width;
  const sy = (crop.y1 - crop.y0) / placed.height;
  return {
    x0: crop.x0 + (column - placed.x) * sx,
    y0: crop.y0 + (row - placed.y) * sy,
    x1: crop.x0 + (column + 1 - placed.x) * sx,
    y1: crop.y0 + (row + 1 - placed.y) * sy,
  };
}

/**
 * A 28×28 map (row-major) drawn over the photo at `width × height` (any size with the photo's
 * aspect, e.g. the decoded size or a thumbnail): each output pixel takes the value of the input
 * cell its centre falls on; outside the crop, or where the crop fell off the canvas, 0.
 */
export function mapOntoPhoto(framing: PhotoFraming, map28: ArrayLike<number>, width: number, height: number, size = IMAGE_SIDE): Float32Array {
  const out = new Float32Array(width * height);
  const toPhotoX = framing.photo.width / width;
  const toPhotoY = framing.photo.height / height;
  const { crop } = framing;
  for (let y = 0; y < height; y += 1) {
    const py = (y + 0.5) * toPhotoY;
    if (py < crop.y0 || py >= crop.y1) continue;
    for (let x = 0; x < width; x += 1) {
      const px = (x + 0.5) * toPhotoX;
      if (px < crop.x0 || px >= crop.x1) continue;
      const cell = photoPointToInput(framing, px, py);
      const column = Math.floor(cell.x);
      const row = Math.floor(cell.y);
      if (column < 0 || row < 0 || column >= size || row >= size) continue;
      out[y * width + x] = map28[row * size + column] ?? 0;
    }
  }
  return out;
}
