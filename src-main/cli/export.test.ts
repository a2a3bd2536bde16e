import { describe, expect, it } from 'vitest';
import type { ModelExport } from '../contract';
import { formatExport } from './export';

describe('formatExport', () => {
  it('lists the model files one by one and the bundle samples as one line with their count and size', () => {
    const result: ModelExport = {
      runId: 'run-1',
      format: 'onnx',
      path: '/tmp/fashion-onnx',
      files: [
        { name: 'atelier-model.json', bytes: 900 },
        { name: 'model.onnx', bytes: 410_000 },
        { name: 'MODEL_CARD.md', bytes: 3_000 },
        { name: 'samples/samples.json', bytes: 40_000 },
        { name: 'samples/0-t-shirt-top.png', bytes: 300 },
        { name: 'samples/1-trouser.png', bytes: 200 },
      ],
      check: { images: 64, largestDifference: 2e-7, sameTopClass: 64 },
    };
    const lines = formatExport(result, 'Small CNN #2').split('\n');
    expect(lines[0]).toBe('Exported run "Small CNN #2" (run-1) as ONNX to /tmp/fashion-onnx');
    expect(lines.filter((line) => line.includes('samples/'))).toEqual([expect.stringMatching(/^ {2}samples\/ \(3 files\)\s+40,500 bytes$/)]);
    expect(lines.some((line) => /^ {2}model\.onnx\s+410,000 bytes$/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/^Checked: re-loaded .* 64 probe images/);
  });
});
