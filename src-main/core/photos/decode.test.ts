import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtelierError } from '../errors.js';
import type { ErrorKind } from '../errors.js';
import { collectPhotoPaths, decodePhoto, PHOTO_LIMITS, sniffFormat, WORKING_SIZE } from './decode.js';
import { preprocessPhoto } from './preprocess.js';
import { asymmetricShirt, syntheticPhoto } from './test-helpers.js';
import { testPhoto } from './test-photos.js';

let dir: string;
let jpeg: Buffer;
let png: Buffer;
const photo = syntheticPhoto({ width: 160, height: 120, background: [60, 45, 30], garment: [220, 220, 210], shape: asymmetricShirt(30, 20) });
const rawInput = { raw: { width: photo.width, height: photo.height, channels: 4 as const } };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atelier-decode-'));
  jpeg = await sharp(photo.data, rawInput).jpeg({ quality: 90 }).toBuffer();
  png = await sharp(photo.data, rawInput).png().toBuffer();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectPhotoError(source: string | Uint8Array, kind: ErrorKind, named: string, options?: Parameters<typeof decodePhoto>[1]): Promise<AtelierError> {
  const error = await decodePhoto(source, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${kind}`).toBeInstanceOf(AtelierError);
  const atelier = error as AtelierError;
  expect(atelier.kind).toBe(kind);
  expect(atelier.message).toContain(named);
  return atelier;
}

async function file(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** A real PNG whose IHDR claims `width × height`, checksums fixed so only the size is wrong. */
function pngClaiming(source: Buffer, width: number, height: number): Buffer {
  const bytes = Buffer.from(source);
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes.writeUInt32BE(crc32(bytes.subarray(12, 29)), 29);
  return bytes;
}

/** A 24-bit uncompressed BMP of an RGBA image (bottom-up rows, as most writers do). */
function bmp24(image: { width: number; height: number; data: Uint8Array }): Buffer {
  const stride = Math.ceil((image.width * 3) / 4) * 4;
  const bytes = Buffer.alloc(54 + stride * image.height);
  bytes.write('BM', 0, 'ascii');
  bytes.writeUInt32LE(bytes.length, 2);
  bytes.writeUInt32LE(54, 10);
  bytes.writeUInt32LE(40, 14);
  bytes.writeInt32LE(image.width, 18);
  bytes.writeInt32LE(image.height, 22);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(24, 28);
  for (let y = 0; y < image.height; y += 1) {
    for (let x = 0; x < image.width; x += 1) {
      const o = 54 + (image.height - 1 - y) * stride + x * 3;
      const i = (y * image.width + x) * 4;
      bytes[o] = image.data[i + 2]!;
      bytes[o + 1] = image.data[i + 1]!;
      bytes[o + 2] = image.data[i]!;
    }
  }
  return bytes;
}

/** An 8-bit palette BMP, top-down (negative height), 2 colours. */
function bmp8TopDown(width: number, height: number, isGarment: (x: number, y: number) => boolean): Buffer {
  const stride = Math.ceil(width / 4) * 4;
  const paletteBytes = 256 * 4;
  const offset = 54 + paletteBytes;
  const bytes = Buffer.alloc(offset + stride * height);
  bytes.write('BM', 0, 'ascii');
  bytes.writeUInt32LE(bytes.length, 2);
  bytes.writeUInt32LE(offset, 10);
  bytes.writeUInt32LE(40, 14);
  bytes.writeInt32LE(width, 18);
  bytes.writeInt32LE(-height, 22);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(8, 28);
  bytes.writeUInt32LE(2, 46);
  bytes.set([30, 30, 30, 0], 54); // index 0: dark floor (BGR0)
  bytes.set([10, 200, 240, 0], 58); // index 1: yellow garment
  for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) bytes[offset + y * stride + x] = isGarment(x, y) ? 1 : 0;
  return bytes;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('decodePhoto: formats', () => {
  it('decodes JPEG, PNG, WebP, GIF, AVIF, TIFF and BMP of the same picture to (nearly) the same pixels', async () => {
    const reference = (await decodePhoto(png, { name: 'ref.png' })).image;
    expect(reference.width).toBe(160);
    expect(reference.height).toBe(120);
    expect(reference.data.length).toBe(160 * 120 * 4);
    const encoded: Record<string, Buffer> = {
      jpeg,
      webp: await sharp(photo.data, rawInput).webp({ quality: 95 }).toBuffer(),
      gif: await sharp(photo.data, rawInput).gif().toBuffer(),
      avif: await sharp(photo.data, rawInput).avif({ quality: 90 }).toBuffer(),
      tiff: await sharp(photo.data, rawInput).tiff().toBuffer(),
      bmp: bmp24(photo),
    };
    for (const [format, bytes] of Object.entries(encoded)) {
      const decoded = await decodePhoto(bytes, { name: `x.${format}` });
      expect(decoded.source.format, format).toBe(format);
      expect([decoded.image.width, decoded.image.height], format).toEqual([160, 120]);
      // Lossy formats and GIF's 256-colour palette differ a little; a wrong channel order or a flipped image differs a lot.
      expect(meanAbsDiff(decoded.image.data, reference.data), format).toBeLessThan(12);
    }
    // The BMP reader is exact.
    expect(meanAbsDiff((await decodePhoto(bmp24(photo), { name: 'x.bmp' })).image.data, reference.data)).toBe(0);
  });

  it('reads an 8-bit palette, top-down BMP', async () => {
    const bytes = bmp8TopDown(40, 30, (x, y) => x >= 10 && x < 20 && y < 5);
    const { image } = await decodePhoto(bytes, { name: 'palette.bmp' });
    const at = (x: number, y: number): number[] => Array.from(image.data.subarray((y * 40 + x) * 4, (y * 40 + x) * 4 + 4));
    expect(at(12, 1)).toEqual([240, 200, 10, 255]);
    expect(at(12, 20)).toEqual([30, 30, 30, 255]);
    expect(at(0, 0)).toEqual([30, 30, 30, 255]);
  });

  it('downscales to the working size early and never enlarges', async () => {
    const big = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#804020' } }).jpeg().toBuffer();
    const decoded = await decodePhoto(big, { name: 'big.jpg' });
    expect(Math.max(decoded.image.width, decoded.image.height)).toBe(WORKING_SIZE);
    expect(decoded.image.height).toBe(Math.round((800 * WORKING_SIZE) / 1200));
    expect(decoded.source).toMatchObject({ width: 1200, height: 800, format: 'jpeg', orientation: 1 });
    const small = await decodePhoto(png, { name: 'small.png', workingSize: 512 });
    expect([small.image.width, small.image.height]).toEqual([160, 120]);
  });

  it('turns grayscale and transparent images into RGBA', async () => {
    const gray = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#808080' } }).grayscale().png().toBuffer();
    const decoded = await decodePhoto(gray, { name: 'gray.png' });
    expect(decoded.image.data.length).toBe(20 * 10 * 4);
    expect(Array.from(decoded.image.data.subarray(0, 4))).toEqual([128, 128, 128, 255]);
    const clear = await sharp({ create: { width: 20, height: 10, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    expect((await decodePhoto(clear, { name: 'clear.png' })).image.data[3]).toBe(0);
  });

  it('reads a file from disk and names it by its path', async () => {
    const path = await file('shirt.jpg', jpeg);
    const decoded = await decodePhoto(path);
    expect(decoded.name).toBe(path);
    expect(decoded.source.bytes).toBe(jpeg.length);
  });

  it('recognises formats by their first bytes', () => {
    expect(sniffFormat(jpeg)).toBe('jpeg');
    expect(sniffFormat(png)).toBe('png');
    expect(sniffFormat(Buffer.from('GIF89a......'))).toBe('gif');
    expect(sniffFormat(Buffer.from('hello'))).toBeUndefined();
    expect(sniffFormat(Buffer.from('BM but just text, not a bitmap header'))).toBeUndefined();
  });
});

describe('decodePhoto: bad input gives the right error, naming the file', () => {
  it('photo-empty for a 0-byte file', async () => {
    await expectPhotoError(await file('empty.jpg', ''), 'photo-empty', 'empty.jpg');
    await expectPhotoError(new Uint8Array(0), 'photo-empty', 'dropped.png', { name: 'dropped.png' });
  });

  it('photo-corrupt for random bytes in a .jpg', async () => {
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i += 1) random[i] = (i * 2654435761) >>> 24;
    await expectPhotoError(await file('random.jpg', random), 'photo-corrupt', 'random.jpg');
  });

  it('photo-corrupt for a truncated JPEG, and for one cut inside its header', async () => {
    const path = await file('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    const error = await expectPhotoError(path, 'photo-corrupt', 'truncated.jpg');
    expect(error.message).toMatch(/damaged|cut short/);
    await expectPhotoError(jpeg.subarray(0, 120), 'photo-corrupt', 'header.jpg', { name: 'header.jpg' });
  });

  it('photo-corrupt for a truncated or nonsensical BMP', async () => {
    const bmp = bmp24(photo);
    await expectPhotoError(bmp.subarray(0, 2000), 'photo-corrupt', 'cut.bmp', { name: 'cut.bmp' });
    const zeroWidth = Buffer.from(bmp);
    zeroWidth.writeInt32LE(0, 18);
    await expectPhotoError(zeroWidth, 'photo-corrupt', 'zero.bmp', { name: 'zero.bmp' });
  });

  it('photo-dimensions when the header claims 100000×100000, before decoding any pixel', async () => {
    const path = await file('huge.png', pngClaiming(png, 100_000, 100_000));
    const error = await expectPhotoError(path, 'photo-dimensions', 'huge.png');
    expect(error.message).toContain('100,000×100,000');
    const bmp = bmp24(photo);
    bmp.writeInt32LE(100_000, 18);
    bmp.writeInt32LE(100_000, 22);
    await expectPhotoError(bmp, 'photo-dimensions', 'huge.bmp', { name: 'huge.bmp' });
  });

  it('photo-dimensions for a JPEG or WebP header past the limit, before decoding any pixel', async () => {
    // Only the size fields change: were the pixels decoded, the 160×120 data would be reported as cut short.
    const bigJpeg = Buffer.from(jpeg);
    const sof = bigJpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    bigJpeg.writeUInt16BE(60_000, sof + 5);
    bigJpeg.writeUInt16BE(60_000, sof + 7);
    const jpegError = await expectPhotoError(bigJpeg, 'photo-dimensions', 'bomb.jpg', { name: 'bomb.jpg' });
    expect(jpegError.message).toContain('60,000×60,000');
    // Lossy WebP: the VP8 frame header after its start code 9d 01 2a holds 14-bit width and height.
    const webp = Buffer.from(await sharp(photo.data, rawInput).webp().toBuffer());
    const start = webp.indexOf(Buffer.from([0x9d, 0x01, 0x2a]));
    expect(start).toBeGreaterThan(0);
    webp.writeUInt16LE(16_383, start + 3);
    webp.writeUInt16LE(16_383, start + 5);
    const webpError = await expectPhotoError(webp, 'photo-dimensions', 'bomb.webp', { name: 'bomb.webp' });
    expect(webpError.message).toContain('16,383×16,383');
  });

  it('photo-dimensions honours a lower pixel limit', async () => {
    await expectPhotoError(png, 'photo-dimensions', 'limited.png', { name: 'limited.png', limits: { maxPixels: 100 * 100 } });
  });

  it('photo-unsupported for a text file named .jpg, an SVG and other known non-photos', async () => {
    const text = await expectPhotoError(await file('notes.jpg', 'Shopping list:\n- socks\n- a coat\n'), 'photo-unsupported', 'notes.jpg');
    expect(text.message).toContain('text file');
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
    expect((await expectPhotoError(Buffer.from(svg), 'photo-unsupported', 'logo.svg', { name: 'logo.svg' })).message).toContain('SVG');
    expect((await expectPhotoError(Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), 'photo-unsupported', 'scan.jpg', { name: 'scan.jpg' })).message).toContain('PDF');
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.alloc(64)]);
    expect((await expectPhotoError(heic, 'photo-unsupported', 'IMG_0001.HEIC', { name: 'IMG_0001.HEIC' })).message).toContain('HEIC');
  });

  it('photo-unsupported for unknown binary content that does not claim to be a photo', async () => {
    const blob = Buffer.from([0x00, 0x01, 0x02, 0xfe, 0x10, 0x00, 0x99, 0x42, 0x13, 0x37]);
    await expectPhotoError(blob, 'photo-unsupported', 'data.bin', { name: 'data.bin' });
  });

  it('photo-unsupported for compressed (RLE) BMP', async () => {
    const rle = bmp24(photo);
    rle.writeUInt16LE(8, 28);
    rle.writeUInt32LE(1, 30);
    const error = await expectPhotoError(rle, 'photo-unsupported', 'rle.bmp', { name: 'rle.bmp' });
    expect(error.message).toMatch(/PNG or JPEG/);
  });

  it('photo-too-large for a file over 50 MB, without reading it', async () => {
    const path = join(dir, 'enormous.jpg');
    await writeFile(path, jpeg);
    await truncate(path, 50 * 1024 * 1024 + 1); // sparse: no disk space used
    const error = await expectPhotoError(path, 'photo-too-large', 'enormous.jpg');
    expect(error.message).toContain('50.0 MB');
    await expectPhotoError(jpeg, 'photo-too-large', 'small-limit.jpg', { name: 'small-limit.jpg', limits: { maxBytes: 100 } });
  });

  it('photo-unreadable for a folder, a missing file and a file without read permission', async () => {
    const folder = join(dir, 'a-folder.jpg');
    await mkdir(folder, { recursive: true });
    expect((await expectPhotoError(folder, 'photo-unreadable', 'a-folder.jpg')).message).toContain('folder');
    expect((await expectPhotoError(join(dir, 'gone.jpg'), 'photo-unreadable', 'gone.jpg')).message).toContain('no such file');
  });

  it.skipIf(process.platform === 'win32')('photo-unreadable for a named pipe, without waiting for a writer', async () => {
    const fifo = join(dir, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    expect((await expectPhotoError(fifo, 'photo-unreadable', 'pipe.jpg')).message).toContain('not a regular file');
  });

  it.skipIf(process.platform === 'win32' || process.getuid?.() === 0)('photo-unreadable for a file without read permission', async () => {
    const path = await file('secret.jpg', jpeg);
    await chmod(path, 0o000);
    try {
      expect((await expectPhotoError(path, 'photo-unreadable', 'secret.jpg')).message).toContain('permission');
    } finally {
      await chmod(path, 0o644);
    }
  });
});

describe('collectPhotoPaths', () => {
  it('expands a folder and its direct subfolders to photos in natural order, skipping hidden and other files', async () => {
    const root = join(dir, 'wardrobe');
    await mkdir(join(root, 'shoes', 'deeper'), { recursive: true });
    await mkdir(join(root, '.thumbnails'), { recursive: true });
    for (const name of ['coat10.jpg', 'coat2.JPG', 'notes.txt', '.hidden.jpg', 'scarf.webp']) await writeFile(join(root, name), 'x');
    await writeFile(join(root, 'shoes', 'boot.png'), 'x');
    await writeFile(join(root, 'shoes', 'deeper', 'too-deep.png'), 'x');
    await writeFile(join(root, '.thumbnails', 't.jpg'), 'x');
    const single = await file('single.txt', 'not checked here: decoding will say');
    const { files, problems } = await collectPhotoPaths([root, single, root]);
    expect(files).toEqual([
      join(root, 'coat2.JPG'),
      join(root, 'coat10.jpg'),
      join(root, 'scarf.webp'),
      join(root, 'shoes', 'boot.png'),
      single,
    ]);
    expect(problems).toEqual([]);
  });

  it('gives folder-empty for a folder without photos, naming it, and keeps going', async () => {
    const empty = join(dir, 'empty-folder');
    const onlyText = join(dir, 'only-text');
    await mkdir(empty, { recursive: true });
    await mkdir(onlyText, { recursive: true });
    await writeFile(join(onlyText, 'readme.txt'), 'x');
    const photoPath = await file('one.png', png);
    const { files, problems } = await collectPhotoPaths([empty, photoPath, onlyText, join(dir, 'missing')]);
    expect(files).toEqual([photoPath]);
    expect(problems.map((p) => [p.path, p.error.kind])).toEqual([
      [empty, 'folder-empty'],
      [onlyText, 'folder-empty'],
      [join(dir, 'missing'), 'photo-unreadable'],
    ]);
    for (const problem of problems) expect(problem.error.message).toContain(problem.path);
  });
});

describe('phone-sized photos', () => {
  let path: string;

  beforeAll(async () => {
    // A 48 MP phone photo held upright (EXIF orientation 6, as most phones save portrait shots),
    // made from a real one so that preprocessing has a garment to find; smooth, so it stays ~1 MB.
    const big = await sharp(testPhoto('longsleeve')).resize(8064, 6048, { fit: 'fill' }).withMetadata({ orientation: 6 }).jpeg({ quality: 80 }).toBuffer();
    path = await file('phone-48mp.jpg', big);
  }, 60_000);

  it('a 48 MP JPEG (8064×6048) is within the limit, decodes upright to the working size and preprocesses', async () => {
    expect(8064 * 6048).toBeLessThan(PHOTO_LIMITS.maxPixels);
    expect(16_320 * 12_240).toBeLessThanOrEqual(PHOTO_LIMITS.maxPixels); // a 200 MP sensor
    const decoded = await decodePhoto(path);
    expect(decoded.source).toMatchObject({ format: 'jpeg', width: 8064, height: 6048, orientation: 6 });
    expect([decoded.image.width, decoded.image.height]).toEqual([WORKING_SIZE * 0.75, WORKING_SIZE]);
    const result = preprocessPhoto(decoded);
    expect(result.foundGarment).toBe(true);
    expect(Math.max(...result.input)).toBe(1);
  });

  it('decoding it never holds the full-size image: peak memory grows by far less than one 48 MP frame', () => {
    const probe = fileURLToPath(new URL('./decode-memory-probe.ts', import.meta.url));
    const output = execFileSync(process.execPath, ['--import', 'tsx', probe, path], { encoding: 'utf8', timeout: 60_000 });
    const report = JSON.parse(output) as { peakKiBBefore: number; peakKiBAfter: number; width: number; height: number };
    expect([report.width, report.height]).toEqual([192, 256]);
    // Decoded whole, the frame alone is 8064 × 6048 × 3 bytes = 146 MB (and twice that to rotate it);
    // shrunk on load it measures ~6 MB here. 48 MB leaves room for allocator and thread-pool noise.
    const grewMiB = (report.peakKiBAfter - report.peakKiBBefore) / 1024;
    expect(grewMiB).toBeLessThan(48);
  });
});
