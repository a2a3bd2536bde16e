import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { AtelierError } from '../errors.js';
import { seededRandom } from './augment.js';
import type { Random } from './augment.js';
import { decodePhoto } from './decode.js';
import { preprocessPhoto } from './preprocess.js';
import { asymmetricShirt, syntheticPhoto } from './test-helpers.js';

/** One random corruption of the kinds disks, downloads and bad tools produce. */
function mutate(original: Buffer, random: Random): { bytes: Buffer; how: string } {
  const bytes = Buffer.from(original);
  const at = (): number => Math.floor(random() * bytes.length);
  const choice = Math.floor(random() * 6);
  switch (choice) {
    case 0: {
      const count = 1 + Math.floor(random() * 8);
      for (let i = 0; i < count; i += 1) bytes[at()] = Math.floor(random() * 256);
      return { bytes, how: `overwrite ${count} bytes` };
    }
    case 1: {
      const bit = at();
      bytes[bit] = (bytes[bit] ?? 0) ^ (1 << Math.floor(random() * 8));
      return { bytes, how: `flip a bit at ${bit}` };
    }
    case 2: {
      const end = at();
      return { bytes: bytes.subarray(0, end), how: `truncate at ${end}` };
    }
    case 3: {
      const start = at();
      const insert = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 32) }, () => Math.floor(random() * 256)));
      return { bytes: Buffer.concat([bytes.subarray(0, start), insert, bytes.subarray(start)]), how: `insert ${insert.length} bytes at ${start}` };
    }
    case 4: {
      const start = at();
      const length = Math.floor(random() * 64);
      bytes.fill(random() < 0.5 ? 0 : 0xff, start, start + length);
      return { bytes, how: `fill ${length} bytes at ${start}` };
    }
    default: {
      // Marker bytes are where decoders are most fragile: corrupt a segment length.
      const markers: number[] = [];
      for (let i = 0; i + 3 < bytes.length; i += 1) if (bytes[i] === 0xff && (bytes[i + 1] ?? 0) >= 0xc0 && (bytes[i + 1] ?? 0) !== 0xff) markers.push(i);
      const marker = markers[Math.floor(random() * markers.length)] ?? 0;
      bytes.writeUInt16BE(Math.floor(random() * 65536), marker + 2);
      return { bytes, how: `corrupt the segment length after marker at ${marker}` };
    }
  }
}

describe('decodePhoto on 500 seeded random mutations of a valid JPEG', () => {
  it('either decodes (and preprocesses) or throws an AtelierError — never crashes or throws anything else', async () => {
    const image = syntheticPhoto({ width: 96, height: 72, background: [70, 50, 40], garment: [200, 190, 180], shape: asymmetricShirt(10, 5, 0.8), noise: 20 });
    const raw = { raw: { width: image.width, height: image.height, channels: 4 as const } };
    const bases = [
      await sharp(image.data, raw).jpeg({ quality: 80 }).withMetadata({ orientation: 6 }).toBuffer(),
      await sharp(image.data, raw).jpeg({ quality: 80, progressive: true }).toBuffer(),
    ];
    const random = seededRandom(20_240_531);
    const outcomes = { decoded: 0, errors: new Map<string, number>() };
    let slowest = { ms: 0, how: '' };
    for (let i = 0; i < 500; i += 1) {
      const { bytes, how } = mutate(bases[i % bases.length]!, random);
      const name = `mutant-${i}.jpg`;
      const started = performance.now();
      try {
        const decoded = await decodePhoto(bytes, { name });
        const { input } = preprocessPhoto(decoded);
        expect(input.length).toBe(784);
        expect(input.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), `${name} (${how})`).toBe(true);
        outcomes.decoded += 1;
      } catch (error) {
        if (!(error instanceof AtelierError)) throw new Error(`${name} (${how}) threw a non-AtelierError: ${String(error)}`, { cause: error });
        expect(error.kind.startsWith('photo-'), `${name}: ${error.kind}`).toBe(true);
        expect(error.message).toContain(name);
        outcomes.errors.set(error.kind, (outcomes.errors.get(error.kind) ?? 0) + 1);
      }
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { ms, how: `${name} (${how})` };
    }
    // Timing is recorded, not asserted: speed belongs in a benchmark.
    console.info(`fuzz: ${outcomes.decoded} decoded, errors ${JSON.stringify(Object.fromEntries(outcomes.errors))}, slowest ${slowest.ms.toFixed(1)} ms: ${slowest.how}`);
    // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
    expect(outcomes.decoded).toBeGreaterThan(0);
    expect(outcomes.errors.size).toBeGreaterThan(0);
  });
});
