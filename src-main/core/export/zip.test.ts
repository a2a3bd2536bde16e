import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createZip } from './zip';

const haveUnzip = existsSync('/usr/bin/unzip');
const dir = mkdtempSync(join(tmpdir(), 'atelier-zip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveUnzip)('createZip (checked by Info-ZIP unzip)', () => {
  const random = new Uint8Array(50_000).map((_, i) => (i * 2654435761) >>> 24);
  const entries = [
    { name: 'fashion-cnn-tfjs/model.json', data: new TextEncoder().encode(JSON.stringify({ layers: new Array(200).fill('Dense') })) },
    { name: 'fashion-cnn-tfjs/weights.bin', data: random },
    { name: 'fashion-cnn-tfjs/empty.txt', data: new Uint8Array(0) },
    { name: 'fashion-cnn-tfjs/classes — ünïcode.txt', data: new TextEncoder().encode('T-shirt/top') },
  ];
  const file = join(dir, 'export.zip');
  writeFileSync(file, createZip(entries, new Date(2025, 5, 1, 12, 30, 10)));

  it('passes unzip -t (headers, sizes and CRC-32 of every entry)', () => {
    const report = execFileSync('unzip', ['-t', file], { encoding: 'utf8' });
    expect(report).toMatch(/No errors detected/);
  });

  it('holds every entry byte for byte, names in UTF-8, compressed where that helps', () => {
    for (const entry of entries) {
      const content = execFileSync('unzip', ['-p', file, entry.name]);
      expect(Buffer.compare(content, Buffer.from(entry.data))).toBe(0);
    }
    const listing = execFileSync('unzip', ['-Z', '-v', file], { encoding: 'latin1' });
    expect(listing).toMatch(/compression method:\s+deflated/);
    expect(listing).toMatch(/compression method:\s+none \(stored\)/);
    expect(readFileSync(file).byteLength).toBeLessThan(entries.reduce((sum, entry) => sum + entry.data.byteLength, 0));
  });

  it('keeps the modification time', () => {
    const listing = execFileSync('unzip', ['-l', file], { encoding: 'utf8' });
    expect(listing).toMatch(/2025-06-01 12:30/);
  });
});
