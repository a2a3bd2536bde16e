import { AtelierError } from '../errors.js';
import type { RgbaImage } from './image.js';

/**
 * A small BMP reader, because the libvips inside sharp's prebuilt binaries has no BMP loader.
 * It covers what cameras, Paint and screenshot tools write: uncompressed 1/4/8-bit palettes,
 * 16/24/32-bit pixels, BI_BITFIELDS masks and top-down rows. RLE and embedded JPEG/PNG
 * bitmaps are rare enough to be refused with a message saying how to convert the file.
 */
export function decodeBmp(bytes: Uint8Array, name: string, maxPixels: number): RgbaImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (why: string): AtelierError =>
    new AtelierError('photo-corrupt', `${name}: this BMP file is damaged (${why}) — open it in an image editor and save it again as PNG or JPEG.`);
  if (bytes.length < 26 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw corrupt('no BMP header');
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  let width: number;
  let rawHeight: number;
  let bpp: number;
  let compression = 0;
  let paletteSize = 0;
  let paletteEntryBytes = 4;
  if (headerSize === 12) {
    width = view.getUint16(18, true);
    rawHeight = view.getInt16(20, true);
    bpp = view.getUint16(24, true);
    paletteEntryBytes = 3;
  } else if (headerSize >= 40 && bytes.length >= 14 + 40) {
    width = view.getInt32(18, true);
    rawHeight = view.getInt32(22, true);
    bpp = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    paletteSize = view.getUint32(46, true);
  } else {
    throw corrupt(`unknown header size ${headerSize}`);
  }
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  if (width <= 0 || height <= 0) throw corrupt(`width ${width}, height ${rawHeight}`);
  if (width * height > maxPixels) {
    throw new AtelierError(
      'photo-dimensions',
      `${name}: the BMP header says ${width.toLocaleString('en')}×${height.toLocaleString('en')} pixels, more than the ${maxPixels.toLocaleString('en')}-pixel limit — resize it or choose another photo.`,
    );
  }
  const BI_RGB = 0;
  const BI_BITFIELDS = 3;
  const BI_ALPHABITFIELDS = 6;
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw new AtelierError(
      'photo-unsupported',
      `${name}: compressed BMP files (compression type ${compression}) are not supported — save it as PNG or JPEG and try again.`,
    );
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw corrupt(`${bpp} bits per pixel`);

  let masks: [number, number, number, number] | undefined;
  if (bpp === 16 || bpp === 32) {
    if (compression === BI_RGB) {
      masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0x00ff0000, 0x0000ff00, 0x000000ff, 0];
    } else {
      // The masks live inside V2+ headers, or right after a 40-byte header.
      const at = 14 + 40;
      if (bytes.length < at + 12) throw corrupt('missing colour masks');
      const alpha = headerSize >= 56 || compression === BI_ALPHABITFIELDS ? view.getUint32(at + 12, true) : 0;
      masks = [view.getUint32(at, true), view.getUint32(at + 4, true), view.getUint32(at + 8, true), alpha];
    }
  }

  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const entries = paletteSize > 0 ? Math.min(paletteSize, 1 << bpp) : 1 << bpp;
    const start = 14 + headerSize;
    if (start + entries * paletteEntryBytes > bytes.length) throw corrupt('palette cut short');
    palette = new Uint8Array(256 * 3);
    for (let i = 0; i < entries; i += 1) {
      const o = start + i * paletteEntryBytes;
      palette[i * 3] = bytes[o + 2] ?? 0;
      palette[i * 3 + 1] = bytes[o + 1] ?? 0;
      palette[i * 3 + 2] = bytes[o] ?? 0;
    }
  }

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (pixelOffset + stride * height > bytes.length) throw corrupt('pixel data cut short — the file is truncated');

  const data = new Uint8Array(width * height * 4);
  const channel = (value: number, mask: number): number => {
    if (mask === 0) return 255;
    const shift = 31 - Math.clz32(mask & -mask); // index of the mask's lowest set bit
    const max = mask >>> shift;
    return Math.round((((value & mask) >>> shift) * 255) / max);
  };
  let anyAlpha = false;
  for (let y = 0; y < height; y += 1) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x += 1) {
      const out = (y * width + x) * 4;
      if (palette) {
        const bitIndex = x * bpp;
        const byte = bytes[row + (bitIndex >> 3)] ?? 0;
        const index = (byte >> (8 - bpp - (bitIndex & 7))) & ((1 << bpp) - 1);
        data[out] = palette[index * 3] ?? 0;
        data[out + 1] = palette[index * 3 + 1] ?? 0;
        data[out + 2] = palette[index * 3 + 2] ?? 0;
        data[out + 3] = 255;
      } else if (bpp === 24) {
        const o = row + x * 3;
        data[out] = bytes[o + 2] ?? 0;
        data[out + 1] = bytes[o + 1] ?? 0;
        data[out + 2] = bytes[o] ?? 0;
        data[out + 3] = 255;
      } else if (masks) {
        const value = bpp === 16 ? view.getUint16(row + x * 2, true) : view.getUint32(row + x * 4, true);
        data[out] = channel(value, masks[0]);
        data[out + 1] = channel(value, masks[1]);
        data[out + 2] = channel(value, masks[2]);
        const a = channel(value, masks[3]);
        data[out + 3] = a;
        if (masks[3] !== 0 && a !== 0) anyAlpha = true;
      }
    }
  }
  // Many writers declare an alpha mask but leave it zero: treat that as opaque, as viewers do.
  if (masks && masks[3] !== 0 && !anyAlpha) for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}
