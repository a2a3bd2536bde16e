/**
 * Checks decompressed bytes against the fixed table. The decompressed bytes, not the `.gz`,
 * are what is verified: Debian recompresses the files, so their `.gz` bytes differ from the
 * official ones while the data is identical.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { AtelierError } from '../errors';
import { formatCount, type DatasetFile } from './files';
import { decompressIfGzip } from './gunzip';
import type { LocatedFile } from './sources';

export interface VerifyContext {
  /** The name the user sees for the file, e.g. `train-images-idx3-ubyte.gz` (defaults to the IDX name). */
  displayName?: string;
  /** Where the bytes came from (folder or URL), for the message. */
  origin?: string;
  /** What the user should do when the check fails; defaults to deleting the file or choosing another folder. */
  remedy?: string;
}

const DEFAULT_REMEDY = 'delete it or choose another folder';

/** SHA-256 of the bytes, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Throw `AtelierError('dataset-corrupt')` unless `bytes` are exactly the decompressed `file`:
 * the size first (cheap, and the usual failure: a truncated download), then SHA-256.
 */
export function verifyDatasetFile(file: DatasetFile, bytes: Uint8Array, context: VerifyContext = {}): void {
  const label = `${context.displayName ?? file.name}${context.origin ? ` (from ${context.origin})` : ''}`;
  const remedy = context.remedy ?? DEFAULT_REMEDY;
  if (bytes.byteLength !== file.size) {
    const what = bytes.byteLength < file.size ? 'the file is truncated' : 'the file is too long, so it is not this Fashion-MNIST file';
    throw new AtelierError(
      'dataset-corrupt',
      `${label}: expected ${formatCount(file.size)} bytes after decompressing, got ${formatCount(bytes.byteLength)} — ${what}; ${remedy}`,
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== file.sha256) {
    throw new AtelierError(
      'dataset-corrupt',
      `${label}: SHA-256 of the decompressed data is ${actual}, expected ${file.sha256} — the file is damaged or is not ` +
        `Fashion-MNIST's ${file.name}; ${remedy}`,
    );
  }
}

/**
 * Read one located file, decompress it when it is gzip (capped at the file's size, so a bomb
 * stops early) and verify it. Returns the decompressed IDX bytes.
 */
export async function readVerifiedFile(located: LocatedFile, remedy?: string): Promise<Uint8Array> {
  const raw = await readFile(located.path).catch((error: unknown) => {
    throw new AtelierError('dataset-missing', `${located.path}: cannot be read (${(error as Error).message}); choose another folder`, { cause: error });
  });
  const displayName = basename(located.path);
  const bytes = await decompressIfGzip(raw, { maxBytes: located.file.size, name: displayName });
  verifyDatasetFile(located.file, bytes, { displayName, origin: dirname(located.path), ...(remedy ? { remedy } : {}) });
  return bytes;
}
