/**
 * One kept photo's metadata file (photos/entries/<sha256>.json) and the short ids derived
 * from the collection's hashes. Pure: no disk access, so the rules are easy to test alone.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { CLASS_NAMES } from '../fashion-mnist';
import type { PhotoFormat } from '../photos/decode';

/** The data folder's "My photos" collection. */
export const collectionDir = (home: string): string => join(home, 'photos');

/** Where a photo came from: a file on this computer, or bytes sent by a browser (no path). */
export type PhotoSource =
  | {
      readonly kind: 'file';
      /** The file's name, for lists. */
      readonly name: string;
      /** The absolute path it was added from (it may have moved since; the kept copy does not depend on it). */
      readonly path: string;
      /** How it came in, e.g. 'classify' (a corrected answer) or 'added' (added directly). */
      readonly note?: string;
    }
  | {
      readonly kind: 'upload';
      readonly name: string;
      readonly note?: string;
    };

/** One labelled photo in the collection. */
export interface PhotoEntry {
  /** Short id: the first 12 hex digits of `sha256`, longer only if another photo shares them. */
  readonly id: string;
  /** SHA-256 of the photo's original bytes, 64 lower-case hex digits; it names the kept files. */
  readonly sha256: string;
  /** 0–9, an index into CLASS_NAMES. */
  readonly label: number;
  readonly className: string;
  readonly source: PhotoSource;
  /** ISO 8601 time it was added. */
  readonly addedAt: string;
  /** Size of the original bytes. */
  readonly bytes: number;
  /** The format the bytes hold (from their content, not their name). */
  readonly format: PhotoFormat;
  /** Pixel size of the original, as stored (before EXIF orientation). */
  readonly width: number;
  readonly height: number;
  /** Absolute path of the kept original bytes. */
  readonly file: string;
}

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const NAME_MAX = 1000;
const NOTE_MAX = 200;

const SourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('file'), name: z.string().max(NAME_MAX), path: z.string(), note: z.string().max(NOTE_MAX).optional() }),
  z.object({ kind: z.literal('upload'), name: z.string().max(NAME_MAX), note: z.string().max(NOTE_MAX).optional() }),
]);

const FORMATS = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff', 'bmp'] as const satisfies readonly PhotoFormat[];

/**
 * entries/<sha256>.json. Loose: fields a newer Atelier adds are kept when this one rewrites the
 * entry (relabel), instead of being dropped. `version` lets a later layout be told apart.
 */
export const EntryRecordSchema = z.looseObject({
  version: z.literal(1),
  sha256: z.string().regex(SHA256_PATTERN),
  label: z
    .number()
    .int()
    .min(0)
    .max(CLASS_NAMES.length - 1),
  source: SourceSchema,
  addedAt: z.iso.datetime({ offset: true }),
  bytes: z.number().int().positive(),
  format: z.enum(FORMATS),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

/** What an entry file holds. */
export type EntryRecord = z.infer<typeof EntryRecordSchema>;

/** File name ending of the kept bytes: the usual one for the format, so the files open by double-click. */
export function extensionFor(format: PhotoFormat): string {
  return format === 'jpeg' ? 'jpg' : format === 'tiff' ? 'tif' : format;
}

/** Shortest id length: 12 hex digits (48 bits) make a clash unlikely below millions of photos. */
export const ID_LENGTH = 12;

/**
 * Short id of each hash: its first 12 hex digits, lengthened just enough to differ from every
 * other hash in `hashes`. Only photos that share a prefix get longer ids, so ids stay stable as
 * the collection grows (barring a 48-bit clash). Sorting puts the longest shared prefixes side by side.
 */
export function shortIds(hashes: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(hashes)].sort();
  const ids = new Map<string, string>();
  const shared = (a: string | undefined, b: string): number => {
    if (a === undefined) return 0;
    let n = 0;
    while (n < a.length && a[n] === b[n]) n += 1;
    return n;
  };
  sorted.forEach((hash, i) => {
    const length = Math.max(ID_LENGTH, shared(sorted[i - 1], hash) + 1, shared(sorted[i + 1], hash) + 1);
    ids.set(hash, hash.slice(0, Math.min(length, hash.length)));
  });
  return ids;
}
