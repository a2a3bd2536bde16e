import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AtelierError } from '../errors';
import type { DatasetFile } from './files';
import { decompressIfGzip, gunzipCapped, isGzip } from './gunzip';
import { sha256Hex, verifyDatasetFile } from './verify';

async function rejection(promise: Promise<unknown>): Promise<AtelierError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AtelierError);
  return error as AtelierError;
}

describe('gunzipCapped', () => {
  const text = new TextEncoder().encode('Ankle boot, '.repeat(1000));

  it('decompresses within the cap, including exactly at it', async () => {
    const gz = gzipSync(text);
    expect(isGzip(gz)).toBe(true);
    expect(Array.from(await gunzipCapped(gz, { maxBytes: text.length, name: 'x.gz' }))).toEqual(Array.from(text));
  });

  it('rejects one byte past the cap with a clear dataset-corrupt error', async () => {
    const error = await rejection(gunzipCapped(gzipSync(text), { maxBytes: text.length - 1, name: 'labels.gz' }));
    expect(error.kind).toBe('dataset-corrupt');
    expect(error.message).toMatch(/^labels\.gz: decompresses to more than 11,999 bytes/);
  });

  // A 4 MB file of 4,096 gzip members, each 1 MiB of zeros: 4 GiB if inflated to the end, which
  // would blow the test's timeout and memory. Stopping at the cap makes it a few milliseconds.
  it('stops a gzip bomb as soon as the output passes the cap', { timeout: 15_000 }, async () => {
    const member = gzipSync(new Uint8Array(1 << 20), { level: 9 });
    const bomb = new Uint8Array(member.length * 4096);
    for (let i = 0; i < 4096; i++) bomb.set(member, i * member.length);
    expect(bomb.length).toBeLessThan(5_000_000);
    const error = await rejection(gunzipCapped(bomb, { maxBytes: 2_000_000, name: 'train-images-idx3-ubyte.gz' }));
    expect(error.kind).toBe('dataset-corrupt');
    expect(error.message).toMatch(/train-images-idx3-ubyte\.gz: decompresses to more than 2,000,000 bytes.*delete it or choose another folder/);
  });

  it('rejects a truncated stream and non-gzip bytes', async () => {
    const gz = gzipSync(text);
    const truncated = await rejection(gunzipCapped(gz.subarray(0, gz.length - 10), { maxBytes: 1e6, name: 't.gz' }));
    expect(truncated.kind).toBe('dataset-corrupt');
    expect(truncated.message).toMatch(/t\.gz: cannot decompress — the compressed data ends early/);
    const garbage = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0]);
    const bad = await rejection(gunzipCapped(garbage, { maxBytes: 1e6, name: 'g.gz' }));
    expect(bad.message).toMatch(/g\.gz: cannot decompress — it is not valid gzip/);
  });

  it('passes decompressed files through untouched', async () => {
    const raw = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 0]);
    expect(await decompressIfGzip(raw, { maxBytes: 1, name: 'raw' })).toBe(raw);
  });
});

describe('verifyDatasetFile', () => {
  const bytes = new TextEncoder().encode('Sneaker');
  const file = { name: 't10k-labels-idx1-ubyte', gzName: 't10k-labels-idx1-ubyte.gz', size: bytes.length, sha256: sha256Hex(bytes) } as DatasetFile;

  it('accepts the exact bytes', () => {
    expect(() => verifyDatasetFile(file, bytes)).not.toThrow();
  });

  it('names the file and both sizes when the size is wrong', () => {
    expect(() => verifyDatasetFile(file, bytes.subarray(0, 3), { displayName: 't10k-labels-idx1-ubyte.gz', origin: '/data' })).toThrow(
      /^t10k-labels-idx1-ubyte\.gz \(from \/data\): expected 7 bytes after decompressing, got 3 — the file is truncated; delete it or choose another folder$/,
    );
  });

  it('reports both checksums when the bytes differ at the right size', () => {
    const wrong = new TextEncoder().encode('Sandals');
    let error: unknown;
    try {
      verifyDatasetFile(file, wrong, { remedy: 'download it again' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AtelierError);
    expect((error as AtelierError).kind).toBe('dataset-corrupt');
    expect((error as Error).message).toContain(sha256Hex(wrong));
    expect((error as Error).message).toContain(file.sha256);
    expect((error as Error).message).toMatch(/; download it again$/);
  });
});
