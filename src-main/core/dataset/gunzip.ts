/**
 * Decompression with a hard cap on the output: a file from a folder or a mirror is untrusted,
 * and a few kilobytes of gzip can inflate to gigabytes.
 */
import { gunzip } from 'node:zlib';
import { AtelierError } from '../errors';
import { formatCount } from './files';

/** True when the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export interface GunzipOptions {
  /** Refuse to produce more than this many bytes. */
  maxBytes: number;
  /** File name for messages. */
  name: string;
}

/**
 * Decompress gzip bytes off the main thread, stopping as soon as the output passes
 * `maxBytes` (zlib's `maxOutputLength` aborts the inflate there rather than after the fact).
 * Throws `AtelierError('dataset-corrupt')` for a bomb, a truncated stream or bytes that are not gzip.
 */
export function gunzipCapped(bytes: Uint8Array, { maxBytes, name }: GunzipOptions): Promise<Uint8Array> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
  return new Promise((resolve, reject) => {
    gunzip(bytes, { maxOutputLength: maxBytes }, (error, result) => {
      if (!error) return resolve(new Uint8Array(result.buffer, result.byteOffset, result.byteLength));
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') {
        reject(
          new AtelierError(
            'dataset-corrupt',
            `${name}: decompresses to more than ${formatCount(maxBytes)} bytes, more than the file can be — ` +
              'it is damaged or not the file it claims to be; delete it or choose another folder',
            { cause: error },
          ),
        );
      } else {
        const why = code === 'Z_BUF_ERROR' ? 'the compressed data ends early (truncated download?)' : `it is not valid gzip (${error.message})`;
        reject(new AtelierError('dataset-corrupt', `${name}: cannot decompress — ${why}; delete it and download again, or choose another folder`, { cause: error }));
      }
    });
  });
}

/** Decompress when the bytes are gzip, otherwise return them as they are (a folder may hold decompressed files). */
export async function decompressIfGzip(bytes: Uint8Array, options: GunzipOptions): Promise<Uint8Array> {
  return isGzip(bytes) ? gunzipCapped(bytes, options) : bytes;
}
