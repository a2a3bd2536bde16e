import { open, readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { AtelierError, toErrorInfo } from '../errors.js';
import type { ErrorInfo } from '../errors.js';
import { decodeBmp } from './bmp.js';
import type { RgbaImage } from './image.js';

/** Limits checked before any pixel is decoded, so a hostile or huge file costs almost nothing. */
export interface PhotoLimits {
  /** Largest file accepted, in bytes. */
  readonly maxBytes: number;
  /** Largest image accepted, in pixels (width × height of the first frame, from the header). */
  readonly maxPixels: number;
}

/**
 * 200 MP: what phones make (48, 50, 108 and 200 MP sensors; 200 MP is 16,320×12,240). Such a
 * photo never exists in memory at full size: a JPEG is decoded already shrunk (libjpeg scales
 * the DCT by 1/2, 1/4 or 1/8 while decoding) and libvips streams the rest of the pipeline in
 * strips, so a 48 MP JPEG raises the process's peak memory by ~6 MB (a full decode: ~150 MB).
 * Formats without shrink-on-load (PNG, TIFF) stream too, only slower (a 48 MP PNG: ~0.4 s).
 * Anything larger is refused from the header alone: a decompression bomb costs nothing.
 */
export const PHOTO_LIMITS: PhotoLimits = { maxBytes: 50 * 1024 * 1024, maxPixels: 200_000_000 };

/**
 * Longest side of the decoded working image. The result ends up 28×28: 256 leaves a garment
 * that fills a fifth of the photo still ~50 pixels to average down, and is big enough for the
 * UI's side-by-side view, while every later step stays in the millisecond range (separation
 * itself runs at `SEPARATION_SIZE`). JPEG shrink-on-load makes the downscale nearly free.
 */
export const WORKING_SIZE = 256;

export interface DecodeOptions {
  /** How messages and the UI call a photo given as bytes (a path names itself). */
  readonly name?: string;
  readonly limits?: Partial<PhotoLimits>;
  /** Longest side of the decoded image; smaller photos are not enlarged. */
  readonly workingSize?: number;
}

/** Image formats this module reads. BMP goes through `bmp.ts`; the rest through sharp. */
export type PhotoFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff' | 'bmp';

export interface DecodedPhoto {
  /** The path as given, or `options.name` for bytes. Every message about the photo uses it. */
  readonly name: string;
  /** Upright (EXIF orientation applied), sRGB, downscaled so its longest side ≤ the working size. */
  readonly image: RgbaImage;
  /** What the file itself holds, before orientation and downscaling. */
  readonly source: {
    readonly format: PhotoFormat;
    readonly width: number;
    readonly height: number;
    readonly bytes: number;
    /** EXIF orientation tag, 1 (upright) when absent. */
    readonly orientation: number;
  };
}

/**
 * File name endings taken as photos when a folder is expanded. HEIC is listed although
 * sharp's prebuilt libvips cannot decode it, so that an iPhone folder gives a per-file
 * message saying what to do instead of a silent skip.
 */
export const PHOTO_EXTENSIONS: readonly string[] = [
  '.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff', '.bmp', '.heic', '.heif',
];

const SHARP_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'tiff']);

const fmt = (n: number): string => n.toLocaleString('en');
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * Decode a photo from a file path or its bytes into an upright RGBA working image.
 * Limits (size, then the header's pixel count) are checked before the pixels are decoded.
 * Every failure is an `AtelierError` whose message names the photo and says what to do.
 */
export async function decodePhoto(source: string | Uint8Array, options: DecodeOptions = {}): Promise<DecodedPhoto> {
  const limits: PhotoLimits = { ...PHOTO_LIMITS, ...options.limits };
  const name = typeof source === 'string' ? source : (options.name ?? 'photo');
  const bytes = typeof source === 'string' ? await readPhotoFile(source, limits) : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  checkSize(bytes.length, name, limits);
  const workingSize = options.workingSize ?? WORKING_SIZE;
  const sniffed = sniffFormat(bytes);
  if (sniffed === undefined) throw unknownContentError(bytes, name);
  if (sniffed === 'heic') throw heicError(name);

  if (sniffed === 'bmp') {
    const bmp = decodeBmp(bytes, name, limits.maxPixels);
    const image = await toWorkingImage(
      sharp(Buffer.from(bmp.data.buffer, bmp.data.byteOffset, bmp.data.byteLength), {
        raw: { width: bmp.width, height: bmp.height, channels: 4 },
      }),
      name,
      workingSize,
    );
    return { name, image, source: { format: 'bmp', width: bmp.width, height: bmp.height, bytes: bytes.length, orientation: 1 } };
  }

  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw classifySharpError(error, name, sniffed, limits);
  }
  const format = photoFormat(metadata, name);
  // Multi-frame files (GIF, TIFF) report their first frame's height as `pageHeight`.
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw new AtelierError('photo-corrupt', `${name}: the ${format.toUpperCase()} header gives no image size — the file is damaged; choose another photo.`);
  }
  if (width * height > limits.maxPixels) {
    throw new AtelierError(
      'photo-dimensions',
      `${name}: the header says ${fmt(width)}×${fmt(height)} pixels (${fmt(width * height)}), more than the ${fmt(limits.maxPixels)}-pixel limit — resize the photo or choose another one.`,
    );
  }
  // Orientation, then the resize in toWorkingImage: sharp turns that into shrink-on-load (the
  // resize is planned on the header's size) and rotates the small result, never the full image.
  const pipeline = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', pages: 1, page: 0 }).rotate();
  const image = await toWorkingImage(pipeline, name, workingSize, sniffed, limits);
  return { name, image, source: { format, width, height, bytes: bytes.length, orientation: metadata.orientation ?? 1 } };
}

async function toWorkingImage(
  pipeline: sharp.Sharp,
  name: string,
  workingSize: number,
  sniffed?: string,
  limits: PhotoLimits = PHOTO_LIMITS,
): Promise<RgbaImage> {
  try {
    const { data, info } = await pipeline
      .resize({ width: workingSize, height: workingSize, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4 || data.length !== info.width * info.height * 4) {
      throw new AtelierError('photo-corrupt', `${name}: decoding gave ${info.channels} channels instead of RGBA — the file is unusual or damaged; save it again as JPEG or PNG.`);
    }
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (error) {
    if (error instanceof AtelierError) throw error;
    throw classifySharpError(error, name, sniffed, limits);
  }
}

function checkSize(size: number, name: string, limits: PhotoLimits): void {
  if (size === 0) throw new AtelierError('photo-empty', `${name}: the file is empty (0 bytes) — it may still be copying or was not saved; choose another photo.`);
  if (size > limits.maxBytes) {
    throw new AtelierError('photo-too-large', `${name}: the file is ${mb(size)}, more than the ${mb(limits.maxBytes)} limit — resize or recompress it and try again.`);
  }
}

/** Read a photo file, refusing folders and special files, and files over the size limit before reading them. */
async function readPhotoFile(path: string, limits: PhotoLimits): Promise<Buffer> {
  // stat before open: opening a named pipe for reading would wait for a writer forever.
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw unreadable(error, path);
  }
  if (info.isDirectory()) throw new AtelierError('photo-unreadable', `${path}: this is a folder, not a photo — drop the photos inside it, or add it as a folder.`);
  if (!info.isFile()) throw new AtelierError('photo-unreadable', `${path}: this is not a regular file (a device, socket or pipe) — choose a photo file.`);
  checkSize(info.size, path, limits);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw unreadable(error, path);
  }
  try {
    // Read at most one byte past the limit: the file may have grown since `stat`.
    const buffer = Buffer.alloc(Math.min(info.size, limits.maxBytes + 1));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === buffer.length ? buffer : buffer.subarray(0, filled);
  } catch (error) {
    throw unreadable(error, path);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function unreadable(error: unknown, path: string): AtelierError {
  const code = (error as { code?: unknown } | null)?.code;
  const why =
    code === 'ENOENT' ? 'no such file — it may have been moved or deleted'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied — check the file\'s permissions or copy it somewhere readable'
    : code === 'EISDIR' ? 'this is a folder, not a photo — drop the photos inside it, or add it as a folder'
    : `cannot be read (${error instanceof Error ? error.message : String(error)}) — check the file and try again`;
  return new AtelierError('photo-unreadable', `${path}: ${why}.`, { cause: error });
}

/** Recognise an image format by its first bytes, to tell "damaged photo" from "not a photo at all". */
export function sniffFormat(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (startsWith(bytes, 0, '\x89PNG\r\n\x1a\n')) return 'png';
  if (startsWith(bytes, 0, 'GIF87a') || startsWith(bytes, 0, 'GIF89a')) return 'gif';
  if (startsWith(bytes, 0, 'RIFF') && startsWith(bytes, 8, 'WEBP')) return 'webp';
  if (startsWith(bytes, 4, 'ftyp')) {
    if (startsWith(bytes, 8, 'avif') || startsWith(bytes, 8, 'avis')) return 'avif';
    if (['heic', 'heix', 'heim', 'heis', 'mif1', 'msf1', 'hevc'].some((brand) => startsWith(bytes, 8, brand))) return 'heic';
  }
  if (startsWith(bytes, 0, 'II*\x00') || startsWith(bytes, 0, 'MM\x00*')) return 'tiff';
  const dibHeaderSize = bytes.length >= 18 ? (bytes[14] ?? 0) | ((bytes[15] ?? 0) << 8) | ((bytes[16] ?? 0) << 16) | ((bytes[17] ?? 0) << 24) : 0;
  if (startsWith(bytes, 0, 'BM') && [12, 40, 52, 56, 64, 108, 124].includes(dibHeaderSize)) return 'bmp';
  return undefined;
}

function startsWith(bytes: Uint8Array, offset: number, ascii: string): boolean {
  if (bytes.length < offset + ascii.length) return false;
  for (let i = 0; i < ascii.length; i += 1) if (bytes[offset + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** Common files people drop by mistake, recognised so the message can say what they are. */
const NOT_PHOTOS: readonly { offset: number; magic: string; what: string }[] = [
  { offset: 0, magic: '%PDF', what: 'a PDF document' },
  { offset: 0, magic: 'PK\x03\x04', what: 'a ZIP archive (or an Office document)' },
  { offset: 0, magic: '\x1f\x8b', what: 'a gzip archive' },
  { offset: 0, magic: '8BPS', what: 'a Photoshop document' },
  { offset: 0, magic: 'ID3', what: 'an MP3 file' },
  { offset: 0, magic: 'OggS', what: 'an Ogg audio or video file' },
  { offset: 0, magic: 'RIFF', what: 'a RIFF media file (WAV or AVI)' },
  { offset: 4, magic: 'ftyp', what: 'a video (MP4 or MOV)' },
  { offset: 0, magic: '\x7fELF', what: 'a program' },
  { offset: 0, magic: 'MZ', what: 'a Windows program' },
];

/** Mostly printable UTF-8 without NUL bytes in the first kilobyte: a text file (or SVG, HTML, JSON). */
function looksLikeText(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 1024);
  if (head.includes(0)) return false;
  let printable = 0;
  for (const b of head) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b !== 127)) printable += 1;
  if (printable < 0.95 * head.length) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(0, head.length - 4)));
    return true;
  } catch {
    return false;
  }
}

/**
 * Bytes with no image signature: say what they are when that is recognisable. Junk in a file
 * named like a photo is a damaged photo; anything else is not a photo.
 */
function unknownContentError(bytes: Uint8Array, name: string): AtelierError {
  const other = NOT_PHOTOS.find((entry) => startsWith(bytes, entry.offset, entry.magic));
  if (other) return new AtelierError('photo-unsupported', `${name}: this is ${other.what}, not a photo — choose a JPEG, PNG, WebP, GIF, AVIF, TIFF or BMP image.`);
  if (looksLikeText(bytes)) {
    const what = /<svg[\s>]/i.test(new TextDecoder().decode(bytes.subarray(0, 4096))) ? 'an SVG drawing' : 'a text file';
    return new AtelierError('photo-unsupported', `${name}: this is ${what}, not a photo — export it as JPEG or PNG, or choose another file.`);
  }
  if (PHOTO_EXTENSIONS.includes(extname(name).toLowerCase())) {
    return new AtelierError('photo-corrupt', `${name}: the contents are not a valid ${extname(name).slice(1).toUpperCase()} image (no image header) — the file is damaged; choose another photo.`);
  }
  return new AtelierError('photo-unsupported', `${name}: not an image format this app can read (JPEG, PNG, WebP, GIF, AVIF, TIFF, BMP) — convert it to JPEG or PNG, or check it is really a photo.`);
}

function photoFormat(metadata: sharp.Metadata, name: string): PhotoFormat {
  const format = metadata.format as string | undefined;
  if (format === undefined || !SHARP_FORMATS.has(format)) {
    const what = format === 'svg' ? 'an SVG drawing' : format ? `a ${format.toUpperCase()} file` : 'not an image this app can read';
    throw new AtelierError('photo-unsupported', `${name}: this is ${what}, not a photo — export it as JPEG or PNG and try again.`);
  }
  if (format === 'heif') {
    // The prebuilt libvips decodes AVIF only: HEVC (iPhone HEIC) is patent-encumbered.
    if (metadata.compression !== 'av1') throw heicError(name);
    return 'avif';
  }
  return format as PhotoFormat;
}

function heicError(name: string): AtelierError {
  return new AtelierError('photo-unsupported', `${name}: HEIC photos cannot be read here — export it as JPEG (on an iPhone: Settings › Camera › Formats › Most Compatible) and try again.`);
}

function classifySharpError(error: unknown, name: string, sniffed: string | undefined, limits: PhotoLimits): AtelierError {
  if (error instanceof AtelierError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(detail)) {
    return new AtelierError('photo-dimensions', `${name}: the image has more than ${fmt(limits.maxPixels)} pixels — resize it or choose another photo.`, { cause: error });
  }
  const kind = sniffed ? sniffed.toUpperCase() : 'image';
  return new AtelierError('photo-corrupt', `${name}: this ${kind} file is damaged or cut short (${detail.replace(/\s+/g, ' ').trim()}) — open it in an image viewer to check, or choose another photo.`, { cause: error });
}

/** A path that could not be expanded to photos, with the reason as a serialisable error. */
export interface PhotoPathProblem {
  readonly path: string;
  readonly error: ErrorInfo;
}

export interface CollectedPhotos {
  /** Photo files to decode, in the order given, each folder's photos in natural name order. */
  readonly files: string[];
  readonly problems: PhotoPathProblem[];
}

const naturalOrder = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/**
 * Expand what a person dropped or chose into photo files. A file is kept whatever its name
 * (decoding will say if it is not a photo). A folder contributes the photos directly inside
 * it and inside its direct subfolders (one level: a folder of class folders, like
 * `real-photos/`, works; a whole home directory is not crawled). Hidden entries are skipped.
 * A folder with no photos gives a `folder-empty` problem; missing paths `photo-unreadable`.
 */
export async function collectPhotoPaths(paths: readonly string[]): Promise<CollectedPhotos> {
  const files: string[] = [];
  const problems: PhotoPathProblem[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = resolve(file);
    if (!seen.has(key)) {
      seen.add(key);
      files.push(file);
    }
  };
  for (const path of paths) {
    try {
      const info = await stat(path);
      if (info.isDirectory()) {
        const found = await photosInFolder(path, 1);
        if (found.length === 0) {
          throw new AtelierError(
            'folder-empty',
            `${path}: this folder has no photos (looked for ${PHOTO_EXTENSIONS.join(' ')} in it and its direct subfolders) — choose a folder with photos in it.`,
          );
        }
        found.forEach(add);
      } else if (info.isFile()) {
        add(path);
      } else {
        throw new AtelierError('photo-unreadable', `${path}: this is not a regular file or folder — choose a photo or a folder of photos.`);
      }
    } catch (error) {
      problems.push({ path, error: error instanceof AtelierError ? error.toInfo() : toErrorInfo(unreadable(error, path)) });
    }
  }
  return { files, problems };
}

async function photosInFolder(folder: string, depth: number): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => naturalOrder.compare(a.name, b.name));
  const photos: string[] = [];
  const subfolders: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(folder, entry.name);
    let isFile = entry.isFile();
    let isDirectory = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      const target = await stat(full).catch(() => undefined);
      isFile = target?.isFile() ?? false;
      isDirectory = target?.isDirectory() ?? false;
    }
    if (isFile && PHOTO_EXTENSIONS.includes(extname(entry.name).toLowerCase())) photos.push(full);
    else if (isDirectory && depth > 0) subfolders.push(full);
  }
  for (const sub of subfolders) {
    // An unreadable subfolder should not hide the photos next to it.
    photos.push(...(await photosInFolder(sub, depth - 1).catch(() => [])));
  }
  return photos;
}
